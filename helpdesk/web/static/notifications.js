// The bell's unread count follows the "notification" event of /agent live
// (docs/agent-tools.md). The count is right on every page load without it.
(function () {
  "use strict";

  const bell = document.getElementById("notification-bell");
  if (!bell) return;
  const count = document.getElementById("notification-count");
  const announce = document.getElementById("notification-announce");

  function onNotification(notification) {
    const unread = Number(count.textContent || "0") + 1;
    count.textContent = String(unread);
    count.hidden = false;
    // Set after a tick, so screen readers announce the change of a live region.
    announce.textContent = "";
    window.setTimeout(() => {
      announce.textContent = bell.dataset.newText.replace("{text}", notification.text);
    }, 50);
  }

  // One connection per page: the live conversation page and inbox share theirs.
  function listen() {
    const socket = window.comptoirAgentSocket || window.io("/agent");
    window.comptoirAgentSocket = socket;
    socket.on("notification", onNotification);
  }

  if (typeof window.io === "function") {
    listen();
  } else {
    const script = document.createElement("script");
    script.src = bell.dataset.socketioSrc;
    script.onload = listen;
    document.head.appendChild(script);
  }
})();
