// Screen pops (docs/calls.md): when a call rings this agent's phone, the server sends
// `call.ringing` to their room on /agent; the panel, rendered by the server in the agent's
// language (the caller's profile and latest history), shows on whatever page is open.
(function () {
  "use strict";

  const box = document.getElementById("call-pops");
  if (!box || typeof window.io !== "function") return;

  const socket = window.io("/agent"); // the session cookie authenticates
  socket.on("connect", () => { box.dataset.connected = "on"; });
  socket.on("disconnect", () => { box.dataset.connected = "off"; });

  // Newest first; a call that rings again (a transfer back) replaces its panel.
  function show(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const panel = template.content.querySelector(".call-pop");
    if (!panel) return; // not a panel: e.g. the login page after the session ended
    const shown = document.getElementById(panel.id);
    if (shown) shown.replaceWith(panel); else box.prepend(panel);
    panel.querySelector("[data-dismiss]").addEventListener("click", () => panel.remove());
  }

  socket.on("call.ringing", (event) => {
    const callId = event && event.call && event.call.id;
    if (!callId) return;
    fetch(box.dataset.popUrl + "?call=" + encodeURIComponent(callId), {credentials: "same-origin"})
      .then((response) => (response.ok ? response.text() : ""))
      .then(show)
      .catch(() => {});
  });
})();
