/*! Comptoir chat widget: the loader a site embeds with one tag,
 *   <script src="https://HOST/widget.js" data-site="SITE_KEY" async></script>
 * Protocol: docs/chat-protocol.md. Plain ES2019, no build step, no dependency but the
 * Socket.IO client Comptoir serves from /widget/vendor/. Everything lives in a shadow root;
 * server data is only ever set as text (textContent) or as checked http(s) links: nothing
 * coming from the server is parsed as markup. The one global is window.ComptoirWidget. */
(function () {
  "use strict";

  if (window.ComptoirWidget) return; // the snippet was pasted twice
  const script = document.currentScript ||
    document.querySelector('script[data-site][src*="widget.js"]');
  if (!script || !script.dataset.site) {
    console.warn("Comptoir widget: the script tag needs a data-site attribute");
    return;
  }

  const ACK_TIMEOUT_MS = 15000;
  const RETRY_MS = 3000;
  const TYPING_REPEAT_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOWN_MS = 10000;
  const MAX_CACHED_MESSAGES = 200;
  const MAX_SEND_ATTEMPTS = 3;
  const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
  const MAX_ATTACHMENTS = 5;
  const UPLOAD_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
    "text/plain"];
  const RETRYABLE = ["rate_limited", "unavailable", "timeout", "offline"];
  const CONVERSATION_GONE = ["not_found", "forbidden", "conflict"];
  const SVG_NS = "http://www.w3.org/2000/svg";

  const CONFIG = readConfig(script);

  const STRINGS = {
    en: {
      openChat: "Open the chat", closeChat: "Close the chat", close: "Close",
      unread: (n) => n === 1 ? "1 unread message" : n + " unread messages",
      panelLabel: (name) => "Chat with " + name, defaultTitle: "Chat",
      subtitleBot: "Our assistant answers right away",
      subtitleAgent: (name) => "You are talking to " + name,
      subtitleQueue: "A person will answer you shortly",
      subtitleAway: "Our team is away: leave your email and we will reply",
      empty: "Hello! Ask us anything: our assistant answers right away, and a person can " +
        "take over at any time.",
      messageLabel: "Your message", placeholder: "Write a message…", send: "Send",
      attach: "Attach a file (image, PDF or text, 10 MB at most)",
      removeFile: (name) => "Remove " + name, uploading: (name) => "Uploading " + name + "…",
      human: "Talk to a human", you: "You", assistant: "Assistant", agent: "Agent",
      system: "Information", sending: "Sending…", notSent: "Not sent", read: "Read",
      helpful: "Was this helpful?", yes: "Yes", no: "No", thanks: "Thanks for your feedback.",
      sources: "Sources", suggestions: "Suggestions", attachments: "Attachments",
      image: "Image sent by the assistant",
      typing: (name) => name + " is typing…",
      prechatIntro: "Before we start, tell us how to reach you.", name: "Name",
      email: "Email", start: "Start the chat",
      contactIntro: "Nobody is available right now. Leave your email and we will reply by " +
        "email.",
      contactSubmit: "Send my email", leaveContact: "Leave my email",
      contactDone: (email) => "Thanks! We will reply to " +
        email + ".",
      nameOptional: "Name (optional)", required: "Please fill in this field.",
      badEmail: "Please enter a valid email address, like ana@example.com.",
      csatLegend: "How would you rate this conversation?",
      star: (n) => n + " out of 5", comment: "Comment (optional)", csatSubmit: "Send my rating",
      csatDone: "Thank you for your rating!", csatMissing: "Choose a rating from 1 to 5.",
      csatChange: "Change my rating",
      connecting: "Connecting…",
      offline: "You are offline: your messages will be sent when the connection is back.",
      unavailable: "The chat is unavailable right now. Please try again later.",
      errors: {
        too_large: "This file is too large: 10 MB at most.",
        too_many: "At most 5 files per message.",
        wrong_type: "This type of file cannot be sent: images, PDF or text only.",
        upload: "The file could not be sent. Please try again.",
        rate_limited: "You are sending messages very fast: please wait a moment.",
        rating_locked: "A rating can be changed for 7 days only.",
        invalid: "This could not be sent: please check what you entered.",
        generic: "Something went wrong. Please try again.",
        offline: "You are offline: please try again when the connection is back.",
      },
    },
    fr: {
      openChat: "Ouvrir le chat", closeChat: "Fermer le chat", close: "Fermer",
      unread: (n) => n === 1 ? "1 message non lu" : n + " messages non lus",
      panelLabel: (name) => "Discuter avec " + name, defaultTitle: "Chat",
      subtitleBot: "Notre assistant vous répond tout de suite",
      subtitleAgent: (name) => "Vous discutez avec " + name,
      subtitleQueue: "Une personne va vous répondre",
      subtitleAway: "Notre équipe est absente : laissez votre e-mail, nous vous répondrons",
      empty: "Bonjour ! Posez-nous votre question : notre assistant répond tout de suite, et " +
        "une personne peut prendre le relais à tout moment.",
      messageLabel: "Votre message", placeholder: "Écrivez un message…", send: "Envoyer",
      attach: "Joindre un fichier (image, PDF ou texte, 10 Mo maximum)",
      removeFile: (name) => "Retirer " + name, uploading: (name) => "Envoi de " + name + "…",
      human: "Parler à un conseiller", you: "Vous", assistant: "Assistant", agent: "Conseiller",
      system: "Information", sending: "Envoi…", notSent: "Non envoyé", read: "Lu",
      helpful: "Cette réponse vous a-t-elle aidé ?", yes: "Oui", no: "Non",
      thanks: "Merci pour votre avis.", sources: "Sources", suggestions: "Suggestions",
      attachments: "Pièces jointes", image: "Image envoyée par l'assistant",
      typing: (name) => name + " est en train d'écrire…",
      prechatIntro: "Avant de commencer, dites-nous comment vous joindre.", name: "Nom",
      email: "E-mail", start: "Commencer la discussion",
      contactIntro: "Personne n'est disponible pour le moment. Laissez votre e-mail, nous vous " +
        "répondrons par e-mail.",
      contactSubmit: "Envoyer mon e-mail", leaveContact: "Laisser mon e-mail",
      contactDone: (email) => "Merci ! Nous répondrons à " +
        email + ".",
      nameOptional: "Nom (facultatif)", required: "Veuillez remplir ce champ.",
      badEmail: "Veuillez saisir une adresse e-mail valide, comme ana@example.com.",
      csatLegend: "Comment évaluez-vous cette conversation ?",
      star: (n) => n + " sur 5", comment: "Commentaire (facultatif)",
      csatSubmit: "Envoyer ma note", csatDone: "Merci pour votre note !",
      csatMissing: "Choisissez une note de 1 à 5.", csatChange: "Modifier ma note",
      connecting: "Connexion…",
      offline: "Vous êtes hors ligne : vos messages partiront dès le retour de la connexion.",
      unavailable: "Le chat est indisponible pour le moment. Réessayez plus tard.",
      errors: {
        too_large: "Ce fichier est trop volumineux : 10 Mo maximum.",
        too_many: "5 fichiers au plus par message.",
        wrong_type: "Ce type de fichier ne peut pas être envoyé : images, PDF ou texte " +
          "uniquement.",
        upload: "Le fichier n'a pas pu être envoyé. Réessayez.",
        rate_limited: "Vous envoyez des messages très vite : patientez un instant.",
        rating_locked: "Une note ne se modifie que pendant 7 jours.",
        invalid: "L'envoi a échoué : vérifiez ce que vous avez saisi.",
        generic: "Une erreur est survenue. Réessayez.",
        offline: "Vous êtes hors ligne : réessayez au retour de la connexion.",
      },
    },
  };
  const T = STRINGS[CONFIG.locale];

  const store = makeStore("comptoir:" + CONFIG.site + ":");
  const userScope = CONFIG.userId ? "user:" + CONFIG.userId + ":" : "";
  const state = {
    socket: null, ready: false, joinedId: null, fatal: null, everConnected: false,
    site: {name: "", agents_available: true, prechat: []}, customer: {name: "", email: null},
    open: false, starting: false, afterStart: [], flushing: false,
    uploads: [], uploading: 0, typingOn: false, typingSentAt: 0, typingStopTimer: null,
    typingShownTimer: null, retriedWithoutVisitor: false, sendSerial: 0, uploadingName: "",
    readSending: 0,
  };
  let conv = loadConversation();
  let outbox = loadOutbox();
  let ui = null;

  // ---------------------------------------------------------------- configuration

  function readConfig(tag) {
    const data = tag.dataset;
    const base = new URL(".", tag.src);
    return {
      base: base.href, origin: base.origin, path: base.pathname, site: data.site,
      userId: data.userId || "", userHash: data.userHash || "", name: data.name || "",
      email: data.email || "", locale: pickLocale(data.locale),
    };
  }

  function pickLocale(requested) {
    const language = (requested || navigator.language || "en").toLowerCase();
    return language.slice(0, 2) === "fr" ? "fr" : "en";
  }

  // ---------------------------------------------------------------- storage

  /** localStorage under one prefix, falling back to memory where storage is refused. */
  function makeStore(prefix) {
    const memory = {};
    return {
      get(name, fallback) {
        try {
          const raw = window.localStorage.getItem(prefix + name);
          return raw === null ? fallback : JSON.parse(raw);
        } catch (error) {
          return name in memory ? memory[name] : fallback;
        }
      },
      set(name, value) {
        memory[name] = value;
        try {
          window.localStorage.setItem(prefix + name, JSON.stringify(value));
        } catch (error) { /* private browsing or a full quota: the memory copy serves */ }
      },
    };
  }

  function emptyConversation(id) {
    return {id: id, status: null, owner: null, agent: null, lastSeq: 0, agentRead: 0,
      readSent: 0, messages: [], feedback: {}, csatAsked: false, csatDone: false,
      csatLocked: false,
      contactAsked: false, contactLeft: null};
  }

  function loadConversation() {
    const saved = store.get(userScope + "conversation", null);
    if (!saved || typeof saved !== "object" || !Array.isArray(saved.messages)) {
      return emptyConversation(null);
    }
    return Object.assign(emptyConversation(null), saved);
  }

  function saveConversation() {
    conv.messages = conv.messages.slice(-MAX_CACHED_MESSAGES);
    store.set(userScope + "conversation", conv);
  }

  function loadOutbox() {
    const saved = store.get(userScope + "outbox", []);
    return Array.isArray(saved) ? saved.filter((entry) => entry && entry.client_id) : [];
  }

  function saveOutbox() {
    store.set(userScope + "outbox", outbox);
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else bytes.forEach((_, i) => { bytes[i] = Math.floor(Math.random() * 256); });
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------------------------------------------------------------- DOM helpers

  /** An element; ``text`` sets textContent, ``on*`` adds listeners, the rest are attributes. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((name) => {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach((child) => { if (child) node.appendChild(child); });
    return node;
  }

  function icon(paths) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    paths.forEach((d) => {
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  /** An absolute http(s) URL, relative ones resolved against Comptoir; anything else is null. */
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, CONFIG.base);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function externalLink(url, text, testId) {
    return el("a", {href: url, target: "_blank", rel: "noopener", "data-testid": testId,
      text: text});
  }

  function setText(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  // ---------------------------------------------------------------- the view

  function buildView() {
    const host = el("comptoir-widget", {"data-testid": "chat-widget"});
    host.style.cssText = "all:initial;position:fixed;z-index:2147483000;right:0;bottom:0;" +
      "width:0;height:0;display:block;";
    const root = host.attachShadow({mode: "open"});
    root.appendChild(el("link", {rel: "stylesheet", href: CONFIG.base + "widget/widget.css"}));
    const view = {host: host, root: root};
    view.launcher = buildLauncher(view);
    view.panel = buildPanel(view);
    root.appendChild(el("div", {class: "cw-root", lang: CONFIG.locale, onkeydown: onEscape},
      [view.panel, view.launcher]));
    document.body.appendChild(host);
    return view;
  }

  function buildLauncher(view) {
    view.badge = el("span", {class: "cw-badge", "aria-hidden": "true", hidden: true});
    return el("button", {type: "button", class: "cw-launcher", "data-testid": "chat-launcher",
      "aria-expanded": "false", "aria-controls": "cw-panel", "aria-label": T.openChat,
      onclick: () => (state.open ? closePanel() : openPanel())}, [
      icon(["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"]),
      view.badge]);
  }

  function buildPanel(view) {
    view.title = el("h2", {class: "cw-title", id: "cw-title", text: T.defaultTitle});
    view.subtitle = el("p", {class: "cw-subtitle", "data-testid": "chat-subtitle"});
    view.banner = el("p", {class: "cw-banner", role: "status", "data-testid": "chat-status",
      hidden: true});
    view.empty = el("p", {class: "cw-empty", text: T.empty});
    view.log = el("div", {class: "cw-log", role: "log", "aria-live": "polite",
      "aria-labelledby": "cw-title", tabindex: "0", "data-testid": "chat-messages"});
    view.typing = el("p", {class: "cw-typing", role: "status", "data-testid": "chat-typing"});
    view.forms = el("div", {class: "cw-forms"}, [buildPrechat(view), buildContact(view),
      buildCsat(view)]);
    const panel = el("section", {class: "cw-panel", id: "cw-panel", role: "dialog",
      "aria-label": T.panelLabel(T.defaultTitle), "data-testid": "chat-panel", hidden: true}, [
      buildHeader(view), view.banner,
      el("div", {class: "cw-scroll"}, [view.empty, view.log, view.typing, view.forms]),
      buildActions(view), buildComposer(view)]);
    return panel;
  }

  function buildHeader(view) {
    return el("header", {class: "cw-header"}, [
      el("div", {class: "cw-heading"}, [view.title, view.subtitle]),
      el("button", {type: "button", class: "cw-close", "aria-label": T.closeChat,
        "data-testid": "chat-close", onclick: closePanel}, [icon(["M6 6l12 12M18 6L6 18"])]),
    ]);
  }

  function buildActions(view) {
    view.human = el("button", {type: "button", class: "cw-human", "data-testid": "chat-human",
      text: T.human, onclick: requestHandoff});
    return el("div", {class: "cw-actions"}, [view.human]);
  }

  function buildComposer(view) {
    view.input = el("textarea", {id: "cw-input", class: "cw-input", rows: "1",
      placeholder: T.placeholder, "data-testid": "chat-input", maxlength: "5000",
      oninput: onInput, onkeydown: onInputKey});
    view.fileInput = el("input", {type: "file", class: "cw-sr", accept: UPLOAD_TYPES.join(","),
      "aria-label": T.attach, "data-testid": "chat-attachment-input", onchange: onFileChosen});
    view.send = el("button", {type: "submit", class: "cw-send", "data-testid": "chat-send"}, [
      icon(["M3 20l18-8L3 4v6l12 2-12 2z"]), el("span", {class: "cw-sr", text: T.send})]);
    view.chips = el("ul", {class: "cw-chips", "aria-label": T.attachments, hidden: true});
    view.error = el("p", {class: "cw-error", role: "alert", "data-testid": "chat-error",
      hidden: true});
    view.composer = el("form", {class: "cw-composer", "data-testid": "chat-composer",
      novalidate: true, onsubmit: onComposerSubmit}, [
      view.chips, view.error,
      el("div", {class: "cw-compose-row"}, [
        el("label", {class: "cw-sr", for: "cw-input", text: T.messageLabel}), view.input,
        el("label", {class: "cw-attach", title: T.attach}, [
          view.fileInput, icon(["M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.6-5.6" +
            "L5.9 11.5a6 6 0 0 0 8.5 8.5l6.1-6.1"])]),
        view.send])]);
    return view.composer;
  }

  function field(id, label, attrs) {
    return el("p", {class: "cw-field"}, [
      el("label", {for: id, text: label}),
      el("input", Object.assign({id: id, name: id.replace(/^cw-[a-z]+-/, "")}, attrs))]);
  }

  function formError(testId) {
    return el("p", {class: "cw-error", role: "alert", "data-testid": testId, hidden: true});
  }

  function buildPrechat(view) {
    view.prechatName = field("cw-prechat-name", T.name, {type: "text", autocomplete: "name",
      required: true, maxlength: "200"});
    view.prechatEmail = field("cw-prechat-email", T.email, {type: "email",
      autocomplete: "email", required: true, maxlength: "254"});
    view.prechatError = formError("chat-prechat-error");
    view.prechat = el("form", {class: "cw-form", "data-testid": "chat-prechat-form",
      hidden: true, novalidate: true, onsubmit: onPrechatSubmit}, [
      el("p", {class: "cw-form-intro", text: T.prechatIntro}), view.prechatName,
      view.prechatEmail, view.prechatError,
      el("button", {type: "submit", class: "cw-primary", text: T.start})]);
    return view.prechat;
  }

  function buildContact(view) {
    view.contactEmail = field("cw-contact-email", T.email, {type: "email",
      autocomplete: "email", required: true, maxlength: "254"});
    view.contactName = field("cw-contact-name", T.nameOptional, {type: "text",
      autocomplete: "name", maxlength: "200"});
    view.contactError = formError("chat-contact-error");
    view.contactFields = el("div", {}, [view.contactEmail, view.contactName, view.contactError,
      el("button", {type: "submit", class: "cw-primary", text: T.contactSubmit})]);
    view.contactIntro = el("p", {class: "cw-form-intro", tabindex: "-1", text: T.contactIntro});
    view.contact = el("form", {class: "cw-form", "data-testid": "chat-contact-form",
      hidden: true, novalidate: true, onsubmit: onContactSubmit},
      [view.contactIntro, view.contactFields]);
    return view.contact;
  }

  function buildCsat(view) {
    view.stars = [1, 2, 3, 4, 5].map((n) => el("label", {class: "cw-star",
      "data-testid": "chat-csat-star-" + n}, [
      el("input", {type: "radio", name: "rating", value: String(n), class: "cw-sr",
        onchange: paintStars}),
      el("span", {class: "cw-star-icon", "aria-hidden": "true", text: "★"}),
      el("span", {class: "cw-sr", text: T.star(n)})]));
    view.csatComment = el("textarea", {id: "cw-csat-comment", name: "comment", rows: "2",
      maxlength: "2000"});
    view.csatError = formError("chat-csat-error");
    view.csatFields = el("div", {}, [
      el("fieldset", {class: "cw-stars"}, [el("legend", {text: T.csatLegend})]
        .concat(view.stars)),
      el("p", {class: "cw-field"}, [el("label", {for: "cw-csat-comment", text: T.comment}),
        view.csatComment]),
      view.csatError, el("button", {type: "submit", class: "cw-primary", text: T.csatSubmit})]);
    view.csatDone = el("p", {class: "cw-form-intro", role: "status", tabindex: "-1", hidden: true,
      text: T.csatDone});
    view.csatChange = el("button", {type: "button", class: "cw-secondary", hidden: true,
      "data-testid": "chat-csat-change", text: T.csatChange, onclick: onCsatChange});
    view.csat = el("form", {class: "cw-form", "data-testid": "chat-csat-form", hidden: true,
      onsubmit: onCsatSubmit}, [view.csatFields, view.csatDone, view.csatChange]);
    return view.csat;
  }

  function paintStars() {
    const rating = selectedRating();
    ui.stars.forEach((star, i) => star.classList.toggle("cw-on", i < rating));
  }

  function selectedRating() {
    const checked = ui.csat.querySelector("input[name=rating]:checked");
    return checked ? Number(checked.value) : 0;
  }

  // ---------------------------------------------------------------- panel state

  function openPanel() {
    if (state.open) return;
    state.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    renderLauncher();
    showPrechatIfNeeded();
    scrollToEnd();
    focusFirst();
    markRead();
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    stopTyping();
    renderLauncher();
    ui.launcher.focus();
  }

  function focusFirst() {
    const field = ui.prechat.hidden ? null :
      [ui.prechatName, ui.prechatEmail].find((p) => !p.hidden);
    (field ? field.querySelector("input") : ui.input).focus();
  }

  function onEscape(event) {
    if (event.key === "Escape" && state.open) {
      event.preventDefault();
      closePanel();
    }
  }

  function renderLauncher() {
    const unread = unreadCount();
    const label = state.open ? T.closeChat : T.openChat;
    ui.launcher.setAttribute("aria-label", unread && !state.open ?
      label + " (" + T.unread(unread) + ")" : label);
    setText(ui.badge, unread && !state.open ? String(Math.min(unread, 99)) : "");
  }

  function unreadCount() {
    return conv.messages.filter((m) => authorKind(m) !== "customer" &&
      authorKind(m) !== "system" && m.seq > conv.readSent).length;
  }

  function renderHeader() {
    const name = state.site.name || T.defaultTitle;
    ui.title.textContent = name;
    ui.panel.setAttribute("aria-label", T.panelLabel(name));
    ui.subtitle.textContent = subtitle();
  }

  function subtitle() {
    if (conv.owner === "agent" && conv.agent && conv.agent.name) {
      return T.subtitleAgent(conv.agent.name);
    }
    if (conv.owner === "queue" || conv.owner === "agent") {
      return state.site.agents_available ? T.subtitleQueue : T.subtitleAway;
    }
    return T.subtitleBot;
  }

  function renderBanner() {
    let text = "";
    if (state.fatal) text = T.unavailable;
    else if (!state.ready) text = state.everConnected || outbox.length ? T.offline : T.connecting;
    setText(ui.banner, text);
    ui.panel.setAttribute("data-connection", state.fatal ? "unavailable" :
      state.ready ? "online" : "offline");
    if (state.fatal) ui.panel.setAttribute("data-error", state.fatal);
    renderControls();
  }

  function showError(text) {
    setText(ui.error, text);
  }

  function errorText(error) {
    const code = error && error.code === "validation_failed" ? "invalid" : error && error.code;
    const known = Object.prototype.hasOwnProperty.call(T.errors, code) ? T.errors[code] : "";
    return known || (error && error.message) || T.errors.generic;
  }

  // ---------------------------------------------------------------- messages

  function authorKind(message) {
    return (message.author && message.author.kind) || "system";
  }

  function authorName(message) {
    const kind = authorKind(message);
    if (kind === "customer") return T.you;
    const name = message.author && message.author.name;
    return name || (kind === "bot" ? T.assistant : kind === "agent" ? T.agent : T.system);
  }

  function clearLog() {
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
  }

  function renderAll() {
    clearLog();
    conv.messages.forEach((message) => insertMessage(renderMessage(message), message.seq));
    outbox.forEach((entry) => ui.log.appendChild(renderPending(entry)));
    afterRender();
  }

  function afterRender() {
    ui.empty.hidden = ui.log.childNodes.length > 0;
    refreshOptions();
    renderReadReceipt();
    renderLauncher();
    scrollToEnd();
  }

  function renderMessage(message) {
    const kind = authorKind(message);
    const named = kind !== "customer" && kind !== "system";
    return el("article", {class: "cw-msg cw-" + kind, "data-testid": "chat-message",
      "data-seq": message.seq, "data-author-kind": kind,
      "data-client-id": message.client_id || null}, [
      named ? el("p", {class: "cw-author", text: authorName(message)}) : null,
      el("div", {class: "cw-bubble"}, [
        // An image-only reply carries its URL as the body (for agents): show the picture.
        message.body && message.body !== message.image ?
          el("p", {class: "cw-body", text: message.body}) : null,
        renderImage(message.image), renderAttachments(message.attachments),
        renderCitations(message.citations)]),
      renderOptions(message),
      kind === "bot" && message.feedback ? renderFeedback(message.seq) : null,
      el("p", {class: "cw-meta", text: formatTime(message.created_at)})]);
  }

  function renderPending(entry) {
    const node = el("article", {class: "cw-msg cw-customer cw-pending",
      "data-testid": "chat-message", "data-author-kind": "customer", "data-pending": "true",
      "data-client-id": entry.client_id});
    const names = (entry.attachments || []).map((a) => el("li", {text: a.filename}));
    node.appendChild(el("div", {class: "cw-bubble"}, [
      entry.body ? el("p", {class: "cw-body", text: entry.body}) : null,
      names.length ? el("ul", {class: "cw-files"}, names) : null]));
    node.appendChild(el("p", {class: "cw-meta", "data-testid": "chat-message-status",
      text: entry.failed ? T.notSent : T.sending}));
    return node;
  }

  function renderAttachments(attachments) {
    const items = (attachments || []).map((file) => {
      const url = safeUrl(file.url);
      const name = file.filename || String(file.id);
      return el("li", {}, [url ? externalLink(url, name, "chat-attachment") :
        el("span", {text: name})]);
    });
    return items.length ? el("ul", {class: "cw-files", "aria-label": T.attachments}, items) :
      null;
  }

  /** An image the assistant sent (an http(s) URL only), never parsed as markup. */
  function renderImage(image) {
    const url = safeUrl(image);
    return url ? el("img", {class: "cw-image", src: url, alt: T.image, loading: "lazy",
      referrerpolicy: "no-referrer", "data-testid": "chat-image"}) : null;
  }

  function renderCitations(citations) {
    const items = (citations || []).map((citation) => {
      const url = safeUrl(citation.url);
      const title = citation.title || citation.url || "";
      return url ? el("li", {}, [externalLink(url, title, "chat-citation")]) : null;
    }).filter(Boolean);
    if (!items.length) return null;
    return el("div", {class: "cw-citations"}, [
      el("p", {class: "cw-citations-title", text: T.sources}), el("ul", {}, items)]);
  }

  function renderOptions(message) {
    const buttons = (message.options || []).map((option) => el("button", {type: "button",
      class: "cw-option", "data-testid": "chat-option",
      "data-article-id": option.article_id === undefined ? null : option.article_id,
      "data-kind": option.kind || null,
      text: option.label || (option.kind === "leave_contact" ? T.leaveContact : ""),
      onclick: () => chooseOption(option)}));
    if (!buttons.length) return null;
    return el("div", {class: "cw-options", role: "group", "aria-label": T.suggestions,
      "data-options-seq": message.seq}, buttons);
  }

  function renderFeedback(seq) {
    const box = el("div", {class: "cw-feedback", "data-feedback-seq": seq});
    if (conv.feedback[seq] !== undefined) {
      box.appendChild(el("p", {role: "status", tabindex: "-1", text: T.thanks}));
      return box;
    }
    box.appendChild(el("span", {text: T.helpful}));
    box.appendChild(el("button", {type: "button", "data-testid": "chat-feedback-yes",
      text: T.yes, onclick: () => sendFeedback(seq, true, box)}));
    box.appendChild(el("button", {type: "button", "data-testid": "chat-feedback-no",
      text: T.no, onclick: () => sendFeedback(seq, false, box)}));
    return box;
  }

  function formatTime(value) {
    const date = value ? new Date(value) : null;
    if (!date || isNaN(date.getTime())) return "";
    return date.toLocaleTimeString(CONFIG.locale, {hour: "2-digit", minute: "2-digit"});
  }

  /** Put a message in seq order, before the unsent ones that always close the list. */
  function insertMessage(node, seq) {
    const next = Array.from(ui.log.children).find((child) =>
      child.hasAttribute("data-pending") || Number(child.getAttribute("data-seq")) > seq);
    ui.log.insertBefore(node, next || null);
  }

  function hasSeq(seq) {
    return conv.messages.some((message) => message.seq === seq);
  }

  /** Take one message from the server (live, joined or acknowledged); drop known seqs. */
  function receive(message) {
    if (!message || typeof message.seq !== "number") return;
    if (message.client_id) settleOutbox(message.client_id);
    if (hasSeq(message.seq)) return;
    const stored = Object.assign({}, message);
    delete stored.html; // never used: the body is rendered as text
    conv.messages.push(stored);
    conv.messages.sort((a, b) => a.seq - b.seq);
    conv.lastSeq = Math.max(conv.lastSeq, message.seq);
    if (authorKind(message) !== "customer") hideTyping();
    if (offersContact(message)) conv.contactAsked = true;
    saveConversation();
    insertMessage(renderMessage(stored), stored.seq);
    afterRender();
    maybeOfferContact();
    markRead();
  }

  function settleOutbox(clientId) {
    const before = outbox.length;
    outbox = outbox.filter((entry) => entry.client_id !== clientId);
    if (outbox.length !== before) saveOutbox();
    const pending = ui.log.querySelector('[data-pending][data-client-id="' +
      cssEscape(clientId) + '"]');
    if (pending) pending.remove();
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  function offersContact(message) {
    return message.kind === "leave_contact" ||
      (message.options || []).some((option) => option && option.kind === "leave_contact");
  }

  /** Quick replies make sense until the customer answers: hide those above their last word. */
  function refreshOptions() {
    const customerSeqs = conv.messages.filter((m) => authorKind(m) === "customer")
      .map((m) => m.seq);
    const lastCustomer = outbox.length ? Infinity : Math.max(0, ...customerSeqs);
    ui.log.querySelectorAll("[data-options-seq]").forEach((group) => {
      const onlyContact = Array.from(group.children).every((button) =>
        button.getAttribute("data-kind") === "leave_contact");
      group.hidden = Number(group.getAttribute("data-options-seq")) < lastCustomer ||
        (onlyContact && Boolean(conv.contactLeft));
    });
  }

  function renderReadReceipt() {
    const old = ui.log.querySelector(".cw-read");
    if (old) old.remove();
    const read = conv.messages.filter((m) => authorKind(m) === "customer" &&
      m.seq <= conv.agentRead).pop();
    const node = read && ui.log.querySelector('[data-seq="' + read.seq + '"]');
    if (node) {
      node.appendChild(el("p", {class: "cw-read", "data-testid": "chat-read", text: T.read}));
    }
  }

  function scrollToEnd() {
    ui.log.parentNode.scrollTop = ui.log.parentNode.scrollHeight;
  }

  // ---------------------------------------------------------------- conversation lifecycle

  function resetConversation(id) {
    conv = emptyConversation(id);
    state.readSending = 0;
    state.joinedId = null;
    saveConversation();
    renderAll();
    resetForms();
    renderHeader();
  }

  function resetForms() {
    ui.contact.hidden = true;
    ui.contactFields.hidden = false;
    ui.contactIntro.removeAttribute("role");
    ui.contactIntro.textContent = T.contactIntro;
    ui.csat.hidden = true;
    ui.csat.reset();
    paintStars();
  }

  function applyMeta(meta) {
    if (!meta || meta.id !== conv.id) return;
    ["status", "owner"].forEach((key) => { if (meta[key] !== undefined) conv[key] = meta[key]; });
    if (meta.agent !== undefined) conv.agent = meta.agent;
    if (typeof meta.agent_read_seq === "number") {
      conv.agentRead = Math.max(conv.agentRead, meta.agent_read_seq);
      renderReadReceipt();
    }
    if (meta.csat !== undefined) {
      // csat: not rated yet; csat_change: rated and still changeable. Reopened: no form.
      conv.csatAsked = Boolean(meta.csat || meta.csat_change || (conv.csatAsked && conv.csatDone));
      conv.csatLocked = !meta.csat && !meta.csat_change;
    }
    saveConversation();
    renderHeader();
    maybeOfferContact();
    maybeAskCsat();
  }

  function joinConversation() {
    const id = conv.id;
    request("conversation.join", {conversation_id: id, after_seq: conv.lastSeq}, (reply) => {
      if (conv.id !== id) return;
      state.joinedId = id;
      applyMeta(reply.conversation);
      (reply.messages || []).forEach(receive);
      runAfterStart();
      flushOutbox();
      markRead();
    }, (error) => {
      if (CONVERSATION_GONE.indexOf(error.code) >= 0) {
        resetConversation(null);
        showPrechatIfNeeded();
        flushOutbox();
      } else retryLater(() => { if (conv.id === id && !state.joinedId) joinConversation(); });
    });
  }

  function retryLater(action) {
    setTimeout(() => { if (state.ready) action(); }, RETRY_MS);
  }

  function isFinished() {
    return conv.status === "closed";
  }

  /** Run ``then`` once a conversation is joined, starting one (after the pre-chat form). */
  function withConversation(then) {
    if (conv.id && !isFinished() && state.joinedId === conv.id) {
      then();
      return;
    }
    if (state.afterStart.indexOf(then) < 0) state.afterStart.push(then);
    if (conv.id && !isFinished()) return; // joining: runAfterStart fires after the join
    if (needsPrechat()) {
      showPrechatIfNeeded();
      return;
    }
    startConversation(knownIdentity());
  }

  function runAfterStart() {
    const waiting = state.afterStart;
    state.afterStart = [];
    waiting.forEach((action) => action());
  }

  function startConversation(identity) {
    if (state.starting || !state.ready) return;
    state.starting = true;
    request("conversation.start", identity, (reply) => {
      state.starting = false;
      const started = reply.conversation;
      if (started.id !== conv.id) resetConversation(started.id);
      applyMeta(started);
      const hadFocus = ui.prechat.contains(ui.root.activeElement);
      hidePrechat();
      if (hadFocus) ui.input.focus();
      joinConversation();
    }, (error) => {
      state.starting = false;
      if (!ui.prechat.hidden) setText(ui.prechatError, errorText(error));
      else showError(errorText(error));
    });
  }

  function knownIdentity() {
    const identity = {};
    const name = CONFIG.name || state.customer.name;
    const email = CONFIG.email || state.customer.email;
    if (name) identity.name = name;
    if (email) identity.email = email;
    return identity;
  }

  function missingPrechatFields() {
    const known = knownIdentity();
    return (state.site.prechat || []).filter((name) =>
      (name === "name" || name === "email") && !known[name]);
  }

  function needsPrechat() {
    return state.ready && (!conv.id || isFinished()) && missingPrechatFields().length > 0;
  }

  function showPrechatIfNeeded() {
    const missing = needsPrechat() ? missingPrechatFields() : [];
    ui.prechatName.hidden = missing.indexOf("name") < 0;
    ui.prechatEmail.hidden = missing.indexOf("email") < 0;
    ui.prechatName.querySelector("input").required = !ui.prechatName.hidden;
    ui.prechatEmail.querySelector("input").required = !ui.prechatEmail.hidden;
    ui.prechat.hidden = missing.length === 0;
    ui.composer.hidden = missing.length > 0;
  }

  function hidePrechat() {
    ui.prechat.hidden = true;
    ui.composer.hidden = false;
  }

  // ---------------------------------------------------------------- sending

  function onComposerSubmit(event) {
    event.preventDefault();
    const body = ui.input.value.trim();
    if (state.uploading || (!body && !state.uploads.length)) return;
    queueMessage(body, null, state.uploads); // with files, the body may be empty
    state.uploads = [];
    renderChips();
    ui.input.value = "";
    resizeInput();
    stopTyping();
  }

  function onInputKey(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (ui.composer.requestSubmit) ui.composer.requestSubmit();
    else onComposerSubmit(new Event("submit"));
  }

  function chooseOption(option) {
    if (option.kind === "leave_contact") {
      conv.contactAsked = true;
      saveConversation();
      maybeOfferContact();
      focusContact();
      return;
    }
    queueMessage(option.label, optionChoice(option), []);
  }

  /** What the server learns of the choice besides its label: the article offered, or the
   * payload of an assistant's quick reply (Rasa: an intent such as "/affirm"). */
  function optionChoice(option) {
    if (typeof option.payload === "string" && option.payload) return {payload: option.payload};
    if (option.article_id === undefined || option.article_id === null) return null;
    return {article_id: option.article_id};
  }

  function queueMessage(body, choice, attachments) {
    const entry = {client_id: newClientId(), body: body, choice: choice,
      attachments: attachments.map((a) => ({id: a.id, filename: a.filename})), attempts: 0};
    outbox.push(entry);
    saveOutbox();
    showError("");
    ui.log.appendChild(renderPending(entry));
    afterRender();
    flushOutbox();
  }

  /** Send the outbox in order, one message at a time; stop at the first unacknowledged one. */
  function flushOutbox() {
    if (outbox.length && !state.flushing && state.ready) withConversation(sendNextEntry);
  }

  function sendNextEntry() {
    const entry = outbox[0];
    if (!entry || state.flushing || !state.ready) return;
    state.flushing = true;
    sendEntry(entry);
  }

  function sendEntry(entry) {
    const payload = {conversation_id: conv.id, client_id: entry.client_id, body: entry.body};
    if (entry.attachments && entry.attachments.length) {
      payload.attachments = entry.attachments.map((a) => a.id);
    }
    if (entry.choice) payload.choice = entry.choice;
    entry.attempts = (entry.attempts || 0) + 1;
    saveOutbox();
    const serial = ++state.sendSerial; // a reconnect makes older acks and timeouts stale
    request("message.send", payload, (reply) => {
      settleOutbox(entry.client_id);
      receive(reply.message);
      if (serial !== state.sendSerial) return;
      state.flushing = false;
      flushOutbox();
    }, (error) => {
      if (serial !== state.sendSerial) return;
      state.flushing = false;
      onSendFailed(entry, error);
    });
  }

  function onSendFailed(entry, error) {
    if (RETRYABLE.indexOf(error.code) >= 0) {
      if (error.code === "rate_limited") showError(errorText(error));
      retryLater(flushOutbox);
    } else if (CONVERSATION_GONE.indexOf(error.code) >= 0 && entry.attempts < MAX_SEND_ATTEMPTS) {
      resetConversation(null);
      flushOutbox();
    } else {
      markFailed(entry, error);
      flushOutbox();
    }
  }

  function markFailed(entry, error) {
    outbox = outbox.filter((e) => e.client_id !== entry.client_id);
    saveOutbox();
    const pending = ui.log.querySelector('[data-pending][data-client-id="' +
      cssEscape(entry.client_id) + '"]');
    if (pending) {
      pending.setAttribute("data-failed", "true");
      pending.querySelector(".cw-meta").textContent = T.notSent;
    }
    showError(errorText(error));
  }

  // ---------------------------------------------------------------- typing

  function onInput() {
    resizeInput();
    if (!ui.input.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (!state.typingOn || now - state.typingSentAt > TYPING_REPEAT_MS) emitTyping(true);
    clearTimeout(state.typingStopTimer);
    state.typingStopTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function resizeInput() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + "px";
  }

  function stopTyping() {
    clearTimeout(state.typingStopTimer);
    if (state.typingOn) emitTyping(false);
  }

  function emitTyping(typing) {
    state.typingOn = typing;
    state.typingSentAt = Date.now();
    if (conv.id && state.joinedId === conv.id) {
      request("typing", {conversation_id: conv.id, typing: typing});
    }
  }

  function showTyping(event) {
    if (!event || event.conversation_id !== conv.id) return;
    if (!event.author || event.author.kind === "customer") return;
    clearTimeout(state.typingShownTimer);
    if (!event.typing) {
      hideTyping();
      return;
    }
    ui.typing.textContent = T.typing(authorName(event));
    state.typingShownTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingShownTimer);
    ui.typing.textContent = "";
  }

  // ---------------------------------------------------------------- read receipts

  /** Tell the server the customer has read everything, when they can actually see it. */
  function markRead() {
    if (!state.open || document.visibilityState !== "visible") return;
    if (!conv.id || state.joinedId !== conv.id) return;
    const latest = conv.messages.filter((m) => authorKind(m) !== "customer").pop();
    if (!latest || latest.seq <= Math.max(conv.readSent, state.readSending)) return;
    const seq = conv.lastSeq;
    state.readSending = seq; // one receipt in flight per seq, however many events arrive
    request("message.read", {conversation_id: conv.id, seq: seq}, () => {
      conv.readSent = Math.max(conv.readSent, seq);
      saveConversation();
      renderLauncher();
    }, () => { state.readSending = 0; });
  }

  function onAgentRead(event) {
    if (!event || event.conversation_id !== conv.id || typeof event.seq !== "number") return;
    conv.agentRead = Math.max(conv.agentRead, event.seq);
    saveConversation();
    renderReadReceipt();
  }

  // ---------------------------------------------------------------- feedback, handoff

  function sendFeedback(seq, helpful, box) {
    box.querySelectorAll("button").forEach((button) => { button.disabled = true; });
    request("answer.feedback", {conversation_id: conv.id, seq: seq, helpful: helpful}, () => {
      conv.feedback[seq] = helpful;
      saveConversation();
      const thanks = renderFeedback(seq);
      const hadFocus = box.contains(ui.root.activeElement);
      box.replaceWith(thanks);
      if (hadFocus) thanks.querySelector("p").focus(); // the clicked button is gone
    }, (error) => {
      box.querySelectorAll("button").forEach((button) => { button.disabled = false; });
      showError(errorText(error));
    });
  }

  function requestHandoff() {
    if (!state.ready) {
      showError(T.errors.offline);
      return;
    }
    withConversation(sendHandoff);
  }

  function sendHandoff() {
    request("handoff.request", {conversation_id: conv.id}, (reply) => {
      applyMeta(reply.conversation);
    }, (error) => showError(errorText(error)));
  }

  // ---------------------------------------------------------------- contact (offline mode)

  function maybeOfferContact() {
    if (!conv.id || conv.contactLeft) {
      renderContactDone();
      return;
    }
    const away = state.site.agents_available === false && conv.owner && conv.owner !== "bot";
    if (!(away || conv.contactAsked)) return;
    const input = ui.contactEmail.querySelector("input");
    if (ui.contact.hidden && !input.value) input.value = knownIdentity().email || "";
    ui.contact.hidden = false;
    scrollToEnd();
  }

  function renderContactDone() {
    if (!conv.contactLeft) {
      ui.contact.hidden = true;
      return;
    }
    ui.contact.hidden = false;
    ui.contactFields.hidden = true;
    ui.contactIntro.setAttribute("role", "status");
    ui.contactIntro.textContent = T.contactDone(conv.contactLeft);
    refreshOptions();
  }

  function focusContact() {
    if (!ui.contact.hidden && !ui.contactFields.hidden) {
      ui.contactEmail.querySelector("input").focus();
    }
  }

  function onContactSubmit(event) {
    event.preventDefault();
    const email = ui.contactEmail.querySelector("input");
    if (!checkField(email, ui.contactError)) return;
    const payload = {conversation_id: conv.id, email: email.value.trim()};
    const name = ui.contactName.querySelector("input").value.trim();
    if (name) payload.name = name;
    request("contact.leave", payload, () => {
      conv.contactLeft = payload.email;
      saveConversation();
      setText(ui.contactError, "");
      renderContactDone();
      ui.contactIntro.focus();
    }, (error) => setText(ui.contactError, errorText(error)));
  }

  // ---------------------------------------------------------------- pre-chat

  /** Whether a required field is filled in (and a valid email); if not, say so and focus it. */
  function checkField(input, errorNode) {
    const problem = !input.value.trim() ? T.required :
      input.type === "email" && !input.checkValidity() ? T.badEmail : "";
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    setText(errorNode, problem);
    if (problem) input.focus();
    return !problem;
  }

  function onPrechatSubmit(event) {
    event.preventDefault();
    const inputs = [ui.prechatName, ui.prechatEmail].filter((p) => !p.hidden)
      .map((p) => p.querySelector("input"));
    if (!inputs.every((input) => checkField(input, ui.prechatError))) return;
    const identity = knownIdentity();
    inputs.forEach((input) => { identity[input.name] = input.value.trim(); });
    setText(ui.prechatError, "");
    state.customer = Object.assign({}, state.customer, identity);
    startConversation(identity);
  }

  // ---------------------------------------------------------------- satisfaction

  function maybeAskCsat() {
    if (!conv.id || !conv.csatAsked) {
      ui.csat.hidden = true;
      return;
    }
    ui.csat.hidden = false;
    ui.csatFields.hidden = conv.csatDone;
    ui.csatDone.hidden = !conv.csatDone;
    ui.csatChange.hidden = !conv.csatDone || conv.csatLocked;
    scrollToEnd();
  }

  // A rating can be changed for 7 days (the server says when no longer: csat_change).
  function onCsatChange() {
    conv.csatDone = false;
    saveConversation();
    maybeAskCsat();
    const checked = ui.csat.querySelector("input[name=rating]:checked");
    (checked || ui.csat.querySelector("input[name=rating]")).focus();
  }

  function onCsatSubmit(event) {
    event.preventDefault();
    const rating = selectedRating();
    if (!rating) {
      setText(ui.csatError, T.csatMissing);
      return;
    }
    const payload = {conversation_id: conv.id, rating: rating};
    const comment = ui.csatComment.value.trim();
    if (comment) payload.comment = comment;
    request("csat", payload, () => {
      conv.csatDone = true;
      saveConversation();
      setText(ui.csatError, "");
      maybeAskCsat();
      ui.csatDone.focus();
    }, (error) => setText(ui.csatError, errorText(error)));
  }

  // ---------------------------------------------------------------- attachments

  function onFileChosen() {
    const file = ui.fileInput.files && ui.fileInput.files[0];
    ui.fileInput.value = "";
    if (!file) return;
    const problem = file.size > MAX_UPLOAD_BYTES ? T.errors.too_large :
      file.type && UPLOAD_TYPES.indexOf(file.type) < 0 ? T.errors.wrong_type :
      state.uploads.length + state.uploading >= MAX_ATTACHMENTS ? T.errors.too_many :
      !state.ready ? T.errors.offline : "";
    showError(problem);
    if (!problem) withConversation(() => upload(file)); // files belong to a conversation
  }

  function upload(file) {
    const form = new FormData();
    form.append("file", file);
    form.append("conversation_id", String(conv.id));
    state.uploading += 1;
    state.uploadingName = file.name;
    renderChips();
    fetch(CONFIG.base + "chat/attachments", {method: "POST", body: form, credentials: "omit",
      headers: uploadHeaders()})
      .then((response) => {
        if (!response.ok) throw uploadFailure(response.status);
        return response.json();
      })
      .then((uploaded) => {
        state.uploads.push({id: uploaded.id, filename: uploaded.filename || file.name});
      })
      .catch((error) => showError(error.widgetMessage || T.errors.upload))
      .finally(() => {
        state.uploading -= 1;
        renderChips();
      });
  }

  function uploadHeaders() {
    const headers = {"X-Comptoir-Site": CONFIG.site,
      "X-Comptoir-Visitor": store.get("visitor", "") || ""};
    if (CONFIG.userId) headers["X-Comptoir-User-Id"] = CONFIG.userId;
    if (CONFIG.userHash) headers["X-Comptoir-User-Hash"] = CONFIG.userHash;
    return headers;
  }

  function uploadFailure(status) {
    const error = new Error("upload failed with HTTP " + status);
    error.widgetMessage = status === 413 ? T.errors.too_large :
      status === 415 ? T.errors.wrong_type : T.errors.upload;
    return error;
  }

  function renderChips() {
    while (ui.chips.firstChild) ui.chips.removeChild(ui.chips.firstChild);
    state.uploads.forEach((file, index) => ui.chips.appendChild(el("li", {class: "cw-chip",
      "data-testid": "chat-attachment"}, [el("span", {text: file.filename}),
      el("button", {type: "button", "aria-label": T.removeFile(file.filename), text: "×",
        onclick: () => { state.uploads.splice(index, 1); renderChips(); }})])));
    if (state.uploading) {
      ui.chips.appendChild(el("li", {class: "cw-chip cw-chip-busy",
        text: T.uploading(state.uploadingName)}));
    }
    ui.chips.hidden = !ui.chips.childNodes.length;
    renderControls();
  }

  function renderControls() {
    ui.input.disabled = Boolean(state.fatal);
    ui.fileInput.disabled = Boolean(state.fatal);
    ui.human.disabled = Boolean(state.fatal);
    ui.send.disabled = Boolean(state.fatal) || state.uploading > 0;
  }

  // ---------------------------------------------------------------- the socket

  /** Emit with an ack; ``onOk(reply)`` for ``{ok: true}``, ``onFail(error)`` otherwise. */
  function request(event, payload, onOk, onFail) {
    const fail = onFail || (() => {});
    if (!state.socket || !state.socket.connected) {
      fail({code: "offline"});
      return;
    }
    state.socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (timedOut, reply) => {
      if (timedOut) fail({code: "timeout"});
      else if (!reply || reply.ok !== true) fail((reply && reply.error) || {code: "invalid"});
      else if (onOk) onOk(reply);
    });
  }

  function authPayload() {
    const auth = {site: CONFIG.site, locale: CONFIG.locale};
    const visitor = store.get("visitor", null);
    if (visitor) auth.visitor = visitor;
    if (CONFIG.userId) auth.user_id = CONFIG.userId;
    if (CONFIG.userHash) auth.user_hash = CONFIG.userHash;
    return auth;
  }

  function connect(io) {
    const socket = io(CONFIG.origin + "/chat", {
      path: CONFIG.path + "socket.io",
      auth: (callback) => callback(authPayload()),
      // A WebSocket needs no CORS, which embedding on other sites' pages would; polling stays
      // as the fallback for networks that block WebSockets.
      transports: ["websocket", "polling"], tryAllTransports: true,
    });
    state.socket = socket;
    socket.on("connect_error", onConnectError);
    socket.on("disconnect", onDisconnect);
    socket.on("session", onSession);
    socket.on("message", (message) => {
      if (message && message.conversation_id === conv.id) receive(message);
    });
    socket.on("typing", showTyping);
    socket.on("read", onAgentRead);
    socket.on("conversation", applyMeta);
  }

  function onSession(session) {
    if (!session || typeof session !== "object") return;
    if (session.visitor) store.set("visitor", session.visitor);
    state.site = Object.assign(state.site, session.site || {});
    state.customer = Object.assign({name: "", email: null}, session.customer || {});
    state.ready = true;
    state.everConnected = true;
    state.fatal = null;
    const current = session.conversation;
    if (!current) {
      if (conv.id) resetConversation(null);
    } else if (current.id !== conv.id || current.last_seq < conv.lastSeq) {
      resetConversation(current.id); // another conversation, or a server that forgot ours
    }
    renderHeader();
    renderBanner();
    showPrechatIfNeeded();
    if (current) {
      applyMeta(current);
      joinConversation();
    } else flushOutbox();
  }

  function onDisconnect(reason) {
    state.ready = false;
    state.joinedId = null;
    state.flushing = false;
    state.sendSerial += 1;
    state.starting = false;
    state.typingOn = false;
    hideTyping();
    renderBanner();
    if (reason === "io server disconnect") {
      setTimeout(() => state.socket.connect(), RETRY_MS); // the server hung up: no auto-retry
    }
  }

  function onConnectError(error) {
    state.ready = false;
    if (state.socket.active) {
      renderBanner(); // a network problem: Socket.IO keeps retrying
      return;
    }
    const reason = (error && error.message) || "unavailable";
    if (reason === "invalid" && store.get("visitor", null) && !state.retriedWithoutVisitor) {
      state.retriedWithoutVisitor = true; // a damaged stored token: start afresh once
      store.set("visitor", null);
      state.socket.connect();
      return;
    }
    state.fatal = reason;
    renderBanner();
    if (window.console) console.warn("Comptoir widget: connection refused (" + reason + ")");
  }

  /** Load the Socket.IO client without leaving ``io`` behind or confusing an AMD loader. */
  function loadSocketIo(onLoad) {
    const hadIo = Object.prototype.hasOwnProperty.call(window, "io");
    const previousIo = window.io;
    const amd = typeof window.define === "function" && window.define.amd;
    if (amd) window.define.amd = undefined;
    const tag = el("script", {src: CONFIG.base + "widget/vendor/socket.io.min.js", async: true});
    const restore = () => {
      if (amd) window.define.amd = amd;
      if (hadIo) window.io = previousIo;
      else delete window.io;
      tag.remove();
    };
    tag.onload = () => {
      const io = window.io;
      restore();
      onLoad(io);
    };
    tag.onerror = () => {
      restore();
      state.fatal = "unavailable";
      renderBanner();
    };
    document.head.appendChild(tag);
  }

  // ---------------------------------------------------------------- start

  function start() {
    ui = buildView();
    renderHeader();
    renderAll();
    renderBanner();
    maybeOfferContact();
    maybeAskCsat();
    document.addEventListener("visibilitychange", markRead);
    loadSocketIo(connect);
  }

  window.ComptoirWidget = Object.freeze({
    open: () => { if (ui) openPanel(); },
    close: () => { if (ui) closePanel(); },
  });

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
