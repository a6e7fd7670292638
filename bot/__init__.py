"""The virtual assistant: answers customers from the knowledge base, hands over to people.

``engine.Engine`` is the seam the transport calls (``respond(context, message)`` →
responses of ``responses``); ``kb_engine.KnowledgeBaseEngine`` is the built-in one,
``service.assistant(app).engine`` the app's instance; ``rasa_engine.RasaEngine`` asks a
Rasa server (``bot_engine = "rasa"``, ``service.chat_engine``). See docs/assistant.md
and docs/rasa.md.
"""
