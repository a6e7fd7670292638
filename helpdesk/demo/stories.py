"""The demo's history: after-sales conversations of Maison Lumière, in French and English.

Each story is one conversation, played step by step through the services at the
time it happened (``days_ago``, then each step's pace), so the timeline reads
like a few weeks of a real helpdesk.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.demo.brand import CALL, CHAT, FORM, MAIL
from helpdesk.demo.script import (
    BOT,
    SYSTEM_ACTOR,
    AddIdentity,
    Assign,
    Consent,
    Handoff,
    Merge,
    Prioritise,
    Say,
    Status,
    Step,
    Tags,
    agent,
    bot,
    customer,
    note,
    system,
)
from helpdesk.models import Channel, ConversationStatus, IdentityKind, Priority

OPEN, PENDING, ON_HOLD = (ConversationStatus.OPEN, ConversationStatus.PENDING,
                          ConversationStatus.ON_HOLD)
SOLVED, CLOSED = ConversationStatus.SOLVED, ConversationStatus.CLOSED
AUTO_CLOSE = Status(CLOSED, by=SYSTEM_ACTOR, after_hours=96)


@dataclass(frozen=True)
class Story:
    """One conversation: who, where, when, and what happened (the first step opens it)."""

    customer: str
    channel: Channel
    queue: str
    subject: str
    days_ago: float
    steps: tuple[Step, ...]
    priority: Priority = Priority.NORMAL
    # Starts with the virtual assistant, outside any queue, until a Handoff to ``queue``.
    with_bot: bool = False

    @property
    def opening(self) -> Say:
        first = self.steps[0]
        if not isinstance(first, Say):
            raise TypeError(f"story {self.subject!r} must open with a message")
        return first


STORIES_FR = (
    Story("claire", MAIL, "Support FR", "Commande LM-20931 toujours pas livrée", 26, (
        customer("Bonjour,\n\nJ'ai commandé la lampe de chevet Céleste (commande LM-20931) il "
                 "y a dix jours. Le suivi Colissimo indique « en cours d'acheminement » depuis "
                 "six jours et plus rien depuis.\n\nPouvez-vous me dire où en est mon colis ?"
                 "\n\nCordialement,\nClaire Dubois"),
        Assign("julien", by=SYSTEM_ACTOR),
        agent("Bonjour Madame Dubois,\n\nMerci pour votre message. Le colis n'a en effet pas "
              "bougé depuis six jours : j'ouvre une enquête auprès de Colissimo, qui répond "
              "sous 48 heures ouvrées. Je reviens vers vous dès que j'ai leur retour.\n\n"
              "Bien cordialement,\nJulien — Maison Lumière"),
        note("Enquête Colissimo ouverte, réf. 8L0042117. Relancer jeudi sans réponse."),
        Status(ON_HOLD),
        Tags(("delivery", "lost-parcel")),
        agent("Bonjour Madame Dubois,\n\nColissimo confirme la perte du colis. Nous vous "
              "réexpédions aujourd'hui une lampe Céleste en Colissimo Expert, sans frais ; le "
              "nouveau numéro de suivi suit par e-mail.\n\nToutes nos excuses pour ce "
              "contretemps.\nJulien", after_hours=50),
        Status(SOLVED),
        customer("Merci beaucoup pour votre réactivité !", after_hours=5),
        Status(SOLVED),
        AUTO_CLOSE,
    )),
    Story("thomas", CHAT, "Support FR", "Lampe Orbe qui clignote", 19, (
        customer("Bonjour, ma lampe Orbe clignote depuis que j'ai changé l'ampoule"),
        bot("Bonjour ! Je suis Lumi, l'assistant virtuel de Maison Lumière. L'Orbe a un "
            "variateur intégré : vérifiez que la nouvelle ampoule est une LED E27 marquée "
            "« dimmable »."),
        customer("C'est bien une LED E27 mais je ne sais pas si elle est dimmable. "
                 "Ça clignote toujours."),
        bot("Je vous mets en relation avec un conseiller, un instant s'il vous plaît."),
        Handoff(),
        Assign("karim", by=SYSTEM_ACTOR),
        agent("Bonjour Thomas, Karim de Maison Lumière. Pouvez-vous me donner la référence "
              "écrite sur le culot de l'ampoule ?"),
        customer("Philips 8718699, 806 lumens"),
        agent("Merci ! Cette ampoule n'est pas dimmable, c'est ce qui fait clignoter le "
              "variateur. Une LED marquée « dimmable » réglera le problème. Voici un code de "
              "10 % sur nos ampoules : LUMI10."),
        customer("Super, merci beaucoup !"),
        Tags(("bulb", "dimmer")),
        Status(SOLVED),
        AUTO_CLOSE,
    ), with_bot=True),
    Story("manon", FORM, "Returns", "Échange abat-jour Plissé 45 cm → 35 cm", 15, (
        customer("Bonjour, j'ai reçu l'abat-jour Plissé en 45 cm mais il est trop grand pour "
                 "mon pied de lampe. Est-il possible de l'échanger contre le 35 cm ? Commande "
                 "LM-21405. Merci, Manon"),
        Assign("karim", by=SYSTEM_ACTOR),
        agent("Bonjour Manon,\n\nBien sûr ! Je vous envoie par e-mail une étiquette de retour "
              "prépayée. Dès que le colis est scanné au point relais, nous expédions "
              "l'abat-jour 35 cm.\n\nKarim"),
        Tags(("return", "exchange")),
        Status(PENDING),
        customer("Colis déposé au point relais ce matin. Merci !", after_hours=40),
        agent("Bien reçu ! L'abat-jour 35 cm part aujourd'hui, livraison sous 48 h.",
              after_hours=20),
        Status(SOLVED),
    )),
    Story("antoine", CALL, "Support FR", "Lampadaire Arc : pied en marbre fissuré", 12, (
        system("Appel entrant du +33 1 99 00 77 88 — 6 min 10 s.\nRésumé : le lampadaire Arc "
               "est arrivé avec le pied en marbre fissuré. Le client ne veut pas renvoyer tout "
               "le lampadaire. Photos demandées par e-mail."),
        Assign("karim"),
        note("Proposé au téléphone : remplacement du pied seul, sans retour. À valider à "
             "réception des photos."),
        Tags(("damaged", "replacement")),
        Status(PENDING),
        customer("Bonjour,\n\nComme convenu au téléphone avec Karim, voici les photos du pied "
                 "fissuré.\n\nAntoine Moreau", channel=MAIL, after_hours=3),
        agent("Bonjour Monsieur Moreau,\n\nMerci pour les photos, la fissure est nette. Un pied "
              "neuf part aujourd'hui par transporteur ; inutile de nous renvoyer l'ancien.\n\n"
              "Karim — Maison Lumière", channel=MAIL, after_hours=1),
        Status(SOLVED),
    ), priority=Priority.HIGH),
    Story("sophie", MAIL, "Billing", "Facture au nom de Laurent Design inc.", 22, (
        customer("Bonjour,\n\nPourriez-vous m'envoyer une facture au nom de mon entreprise, "
                 "Laurent Design inc., pour la commande LM-20377 ? J'ai besoin que les numéros "
                 "de TPS et TVQ y figurent.\n\nMerci !\nSophie Laurent"),
        Assign("julien", by="helene"),
        note("Vente export depuis la France : facture hors taxes françaises, pas de TPS/TVQ de "
             "notre côté. À expliquer à la cliente."),
        agent("Bonjour Madame Laurent,\n\nVoici votre facture au nom de Laurent Design inc. La "
              "commande étant expédiée de France vers le Canada, elle est facturée hors taxes "
              "françaises ; les taxes canadiennes ont été réglées à l'importation et ne "
              "figurent donc pas sur notre facture.\n\nBien à vous,\nJulien"),
        customer("Parfait, c'est très clair. Merci !", after_hours=6),
        Tags(("invoice",)),
        Status(SOLVED),
        AUTO_CLOSE,
    )),
    Story("nicolas", CHAT, "Support FR", "Livraison en Corse", 9, (
        customer("Bonjour, vous livrez en Corse ? En combien de temps ?"),
        bot("Bonjour ! Oui, nous livrons en Corse en 4 à 6 jours ouvrés, frais de port offerts "
            "dès 80 €."),
        customer("Parfait, merci !"),
        bot("Avec plaisir, bonne journée !"),
        Tags(("shipping",), by=BOT),
        Status(SOLVED, by=BOT),
    ), with_bot=True),
    Story("elodie", MAIL, "Support FR", "Garantie : variateur de la lampe Perle en panne", 2, (
        customer("Bonjour,\n\nLe variateur de ma lampe Perle ne fonctionne plus : elle reste "
                 "allumée au maximum. Je l'ai achetée il y a 14 mois. Est-elle encore sous "
                 "garantie ?\n\nÉlodie Rousseau"),
        Assign("julien", by=SYSTEM_ACTOR),
        note("Garantie 2 ans : OK. Vérifier le stock de variateurs Perle avant de répondre."),
        Tags(("warranty",)),
    )),
    Story("hugo", CALL, "Billing", "Double prélèvement commande LM-22104", 4, (
        system("Appel entrant du +33 1 99 00 55 66 — 3 min 05 s.\nRésumé : le client a été "
               "débité deux fois de 149 € pour la commande LM-22104. Il demande le "
               "remboursement du doublon et une confirmation écrite."),
        Assign("julien", by="helene"),
        Prioritise(Priority.URGENT, by="helene"),
        AddIdentity(IdentityKind.EMAIL, "hugo.mercier@example.com"),
        note("Double débit confirmé chez le prestataire de paiement. Remboursement lancé : 3 à "
             "5 jours selon la banque."),
        agent("Bonjour Monsieur Mercier,\n\nComme convenu au téléphone, le remboursement du "
              "second prélèvement de 149 € a été lancé aujourd'hui. Il apparaîtra sur votre "
              "compte sous 3 à 5 jours ouvrés.\n\nJulien — Maison Lumière", channel=MAIL),
        Tags(("refund", "double-charge")),
        Status(ON_HOLD),
    )),
    Story("visitor", CHAT, "Support FR", "Suivi de commande", 6, (
        customer("bonjour, je voudrais savoir où en est ma commande"),
        bot("Bonjour ! Pour suivre une commande, donnez-moi son numéro (il commence par LM-)."),
        customer("LM-21877"),
        bot("Je ne retrouve pas cette commande dans votre session. Je vous passe un "
            "conseiller."),
        Handoff(),
        Assign("karim", by=SYSTEM_ACTOR),
        agent("Bonjour ! Je vois la commande LM-21877 au nom de Juliette Fabre : est-ce bien "
              "vous ?"),
        customer("Oui c'est moi, je suis sur l'ordinateur du bureau"),
        agent("Merci Juliette ! Votre commande est partie hier, livraison prévue jeudi. Bonne "
              "journée !"),
        note("Visiteuse anonyme = Juliette Fabre (cliente gold). Fiches à fusionner."),
        Merge("juliette", by="helene"),
        Tags(("order-status",)),
        Status(SOLVED),
    ), with_bot=True),
    Story("lumen", MAIL, "Billing", "Devis : 40 suspensions Nuage pour un hôtel", 3, (
        customer("Bonjour,\n\nNous aménageons un hôtel à Lyon et souhaitons commander 40 "
                 "suspensions Nuage, finition laiton. Pouvez-vous nous faire un devis avec la "
                 "remise professionnelle ?\n\nService achats — Atelier Lumen"),
        Assign("julien", by="helene"),
        note("Remise pro de 15 % validée ; livraison en une fois possible (52 en stock).",
             who="helene"),
        agent("Bonjour,\n\nVeuillez trouver ci-joint notre devis D-2291 : 40 suspensions Nuage "
              "laiton avec 15 % de remise professionnelle, livraison offerte.\n\nCordialement,"
              "\nJulien Petit — Maison Lumière"),
        Status(PENDING),
        customer("Bon pour accord. Pouvez-vous livrer avant le 15 ? L'ouverture est le 18.",
                 after_hours=20),
        Tags(("b2b", "quote")),
    ), priority=Priority.HIGH),
    Story("claire", CHAT, "Support FR", "Céleste en vert sauge ?", 0.08, (
        customer("Bonjour ! La lampe Céleste existe-t-elle en vert sauge ?"),
    )),
    Story("amelie", FORM, "Support FR", "Ampoule de rechange pour la lampe Perle", 0.3, (
        customer("Bonjour, je cherche une ampoule de rechange pour la lampe Perle achetée dans "
                 "votre boutique de Nantes. Quelle référence dois-je prendre ? Merci, Amélie"),
    )),
)

STORIES_EN = (
    Story("emma", MAIL, "Support EN", "Order LM-20877 arrived broken", 20, (
        customer("Hello,\n\nMy order LM-20877 arrived today and the glass shade of the Luna "
                 "pendant was shattered inside the box, although the box itself looked fine."
                 "\n\nCould you send a replacement?\n\nThanks,\nEmma"),
        Assign("sarah", by=SYSTEM_ACTOR),
        agent("Hi Emma,\n\nI'm so sorry about this. A replacement shade leaves our warehouse "
              "today by tracked courier, and there's no need to send the broken one back — "
              "please recycle it safely.\n\nBest,\nSarah — Maison Lumière"),
        Tags(("damaged", "replacement")),
        Status(PENDING),
        customer("It arrived this morning, in one piece this time. Thank you!", after_hours=52),
        Status(SOLVED),
        AUTO_CLOSE,
    ), priority=Priority.HIGH),
    Story("emma", CALL, "Support EN", "Matching wall lights for the Luna pendant", 14, (
        system("Inbound call from +44 7700 900123 — 2 min 40 s.\nSummary: the replacement Luna "
               "shade fits perfectly. The customer asked about matching wall lights; sent her "
               "the link to the Luna collection."),
        Assign("sarah"),
        Tags(("product-question",)),
        Status(SOLVED),
    )),
    Story("james", CHAT, "Returns", "Return after 40 days", 10, (
        customer("Hi, can I return a lamp I bought 40 days ago?"),
        bot("Hi! I'm Lumi, Maison Lumière's virtual assistant. Our return window is 30 days "
            "from delivery, so I can't open a return automatically for this order."),
        customer("It's unused and still in its box. Is there really nothing you can do?"),
        bot("Let me hand you over to a colleague who can look at your order."),
        Handoff(),
        Assign("sarah", by=SYSTEM_ACTOR),
        agent("Hi James, Sarah here. As the lamp is unopened, we can make an exception: I've "
              "emailed you a prepaid return label. The refund goes out as soon as the parcel "
              "is back with us."),
        customer("That's brilliant, thanks Sarah!"),
        Tags(("return", "exception")),
        Status(PENDING),
    ), with_bot=True),
    Story("olivia", MAIL, "Billing", "Charged in euros instead of dollars?", 17, (
        customer("Hi,\n\nMy card statement shows a foreign transaction fee on order LM-20655. "
                 "I thought I was paying in US dollars. Can you explain?\n\nOlivia"),
        Assign("sarah", by="helene"),
        agent("Hi Olivia,\n\nOur prices are set in euros; the dollar amount at checkout was an "
              "estimate. The fee comes from your card issuer's currency conversion, so we can't "
              "refund it ourselves — but I've added a $10 credit to your account for the "
              "inconvenience.\n\nKind regards,\nSarah"),
        customer("OK, understood. Could you also send me the invoice as a PDF?", after_hours=9),
        agent("Of course — you'll find it attached to this email.", after_hours=2),
        Tags(("invoice", "currency")),
        Status(SOLVED),
        AUTO_CLOSE,
    )),
    Story("liam", FORM, "Returns", "Wrong colour delivered: Arc floor lamp", 5, (
        customer("I ordered the Arc floor lamp in brushed brass (order LM-21950) but received "
                 "the black one. I'd like the brass version, please."),
        Assign("karim", by=SYSTEM_ACTOR),
        agent("Hello Liam,\n\nApologies for the mix-up! Our courier will collect the black lamp "
              "at no cost to you, and we'll send the brass one.\n\nKarim"),
        note("Brass Arc out of stock until the 28th — supplier confirmed the date."),
        agent("A quick update: the brass Arc is back in stock on the 28th and will ship that "
              "very day. Sorry for the wait!", after_hours=4),
        Tags(("wrong-item",)),
        Status(ON_HOLD),
    )),
    Story("priya", CALL, "Support EN", "Halo smart bulb won't pair after update", 7, (
        system("Inbound call from +44 7700 900456 — 7 min 22 s.\nSummary: the Halo smart bulb "
               "no longer pairs with the Maison Lumière app since the last firmware update. "
               "Walked the customer through a reset (five on/off cycles); still failing. "
               "Escalated to the product team."),
        Assign("sarah"),
        note("Known issue with firmware 2.3.1 on Android 14 — product ticket PROD-318, fix "
             "expected in 2.3.2."),
        Tags(("smart-bulb", "bug")),
        Status(ON_HOLD),
        customer("Hello, any news about the pairing problem? The bulb is still stuck in setup "
                 "mode.", channel=MAIL, after_hours=70),
        agent("Hi Priya, the fix ships in firmware 2.3.2 next Tuesday; the app will offer the "
              "update by itself. I'll check in with you once it's out.", channel=MAIL,
              after_hours=3),
    ), priority=Priority.HIGH),
    Story("noah", Channel.API, "Support EN", "DHL: address not found for LM-22310", 8, (
        system("Carrier exception from DHL for order LM-22310: address not found. Shipment "
               "held at the Berlin-Mitte depot for 7 days."),
        Assign("sarah", by=SYSTEM_ACTOR),
        agent("Hi Noah,\n\nDHL couldn't find your address for order LM-22310 and is holding the "
              "parcel at their depot. Could you confirm your full address, including the floor "
              "and the name on the buzzer?\n\nThanks,\nSarah", channel=MAIL),
        Status(PENDING),
        customer("Sorry! It's Torstraße 12, 3rd floor, buzzer 'Schmidt'.", channel=MAIL,
                 after_hours=5),
        agent("Thanks Noah — DHL has the corrected address and will deliver tomorrow.",
              channel=MAIL, after_hours=1),
        Tags(("delivery", "address")),
        Status(SOLVED),
    )),
    Story("grace", CHAT, "Support EN", "Shipping to Canada", 13, (
        customer("Do you ship to Canada?"),
        bot("Hi! Yes, we ship to Canada in 5 to 8 business days. Duties and taxes are charged at "
            "checkout, so there's nothing more to pay on delivery."),
        customer("great, thanks!"),
        Tags(("shipping",), by=BOT),
        Status(SOLVED, by=BOT),
    ), with_bot=True),
    Story("grace", CHAT, "Support EN", "Discount code WELCOME10 refused", 0.04, (
        customer("My discount code WELCOME10 isn't working at checkout"),
        bot("Sorry about that! WELCOME10 works on a first order over €50. Is this your first "
            "order with us?"),
        customer("Yes, and my basket is €64"),
        bot("Thanks! I'm passing you to a colleague who can check the code."),
        Handoff(),
    ), with_bot=True),
    Story("daniel", MAIL, "Support EN", "Warranty claim: Arc floor lamp switch", 33, (
        customer("Hello,\n\nThe switch on my Arc floor lamp stopped working; the lamp is 18 "
                 "months old. Is this covered by the warranty?\n\nDaniel Evans"),
        Assign("karim", by=SYSTEM_ACTOR),
        note("2-year warranty applies. Sending a replacement switch cable (part SW-ARC-02)."),
        agent("Hello Daniel,\n\nYes, your lamp is covered by our 2-year warranty. A replacement "
              "switch cable is on its way: it simply plugs in, and there's a short video guide "
              "in our help centre.\n\nBest regards,\nKarim"),
        customer("Fitted it in two minutes. Works perfectly, thank you!", after_hours=60),
        Tags(("warranty",)),
        Status(SOLVED),
        AUTO_CLOSE,
    )),
    Story("chloe", CHAT, "Support EN", "Perle lamp cable length", 1, (
        customer("Hi! Is the Perle lamp's cable long enough to reach a socket about 1.5 m from "
                 "my bedside table?"),
        Assign("sarah", by=SYSTEM_ACTOR),
        agent("Hi Chloé! The Perle has a 1.8 m braided fabric cable, so you'll have a little to "
              "spare."),
        customer("Perfect, ordering now!"),
        Tags(("product-question",)),
        Status(SOLVED),
    ), priority=Priority.LOW),
    Story("liam", MAIL, "Support EN", "Unsubscribe", 27, (
        customer("Please stop sending me marketing emails and texts. Thanks."),
        Assign("sarah", by=SYSTEM_ACTOR),
        Consent((("marketing_email", False), ("marketing_sms", False))),
        agent("Hi Liam, done — you won't receive marketing emails or text messages from us any "
              "more. Order and delivery emails will still reach you.\n\nSarah"),
        Tags(("privacy",)),
        Status(SOLVED),
        AUTO_CLOSE,
    ), priority=Priority.LOW),
    Story("olivia", MAIL, "Support EN", "Halo table lamp cable gets hot", 1, (
        customer("Hello,\n\nThe cable of my Halo table lamp gets very hot near the plug after "
                 "about an hour. I've unplugged it. Is it safe?\n\nOlivia"),
        Assign("helene"),
        Prioritise(Priority.URGENT),
        agent("Hello Olivia,\n\nThank you for unplugging it straight away — please keep it "
              "unplugged. We'll collect the lamp at our expense and send you a new one; our "
              "quality team is examining this batch.\n\nHélène Marchand, customer care "
              "supervisor"),
        note("Safety escalation: quality team informed, batch HALO-2207 under review. Watch "
             "for other reports."),
        Tags(("safety",)),
    )),
)

STORIES = STORIES_FR + STORIES_EN
