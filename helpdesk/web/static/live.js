// Live chat for agents: the conversation page and the inbox, over Socket.IO on /agent
// (docs/agent-ui.md, "Live chat"). Loaded after the vendored Socket.IO client; both pages
// work fully without it.
(function () {
  "use strict";

  const TYPING_REPEAT_MS = 3000; // while typing, say so again (the widget forgets after 10 s)
  const TYPING_IDLE_MS = 3000; // no key for this long: stopped typing
  const TYPING_SHOWN_MS = 10000; // a typing notice nobody renews goes away

  const thread = document.getElementById("thread");
  const inboxNav = document.getElementById("inbox-nav");
  if (typeof window.io !== "function" || (!thread && !inboxNav)) return;

  const userId = Number((thread || inboxNav).dataset.userId);
  // the session cookie authenticates; other scripts of the page share this connection
  const socket = window.comptoirAgentSocket || window.io("/agent");
  window.comptoirAgentSocket = socket;
  // Says whether live updates flow (the server joins this page's rooms on connect).
  socket.on("connect", () => { document.documentElement.dataset.live = "on"; });
  socket.on("disconnect", () => { document.documentElement.dataset.live = "off"; });

  // ------------------------------------------------------------ handoffs to my queues
  // The server sends a queue's handoffs (with queue_id) to the agents of that queue.

  const handoffs = new Map(); // queue id -> keys of the handoffs seen since the page opened
  let audio = null;

  function byMe(event) {
    return Boolean(event.actor) && event.actor.kind === "agent" && event.actor.id === userId;
  }

  function onHandoff(event) {
    if (event.type !== "conversation.owner_changed" || event.channel !== "chat" || byMe(event)) {
      return;
    }
    const seen = handoffs.get(event.queue_id) || new Set();
    const key = event.conversation_id + "@" + event.occurred_at;
    if (seen.has(key)) return;
    seen.add(key);
    handoffs.set(event.queue_id, seen);
    showHandoffCounts();
    chime();
    refreshList();
  }

  function handoffTotal() {
    let total = 0;
    handoffs.forEach((keys) => { total += keys.size; });
    return total;
  }

  function showHandoffCounts() {
    applyTitle();
    handoffs.forEach((keys, queueId) => {
      const link = document.querySelector('.sidenav a[data-queue="' + queueId + '"]');
      const badge = link && link.querySelector(".new-badge");
      if (!badge) return;
      badge.querySelector(".new-count").textContent = String(keys.size);
      badge.hidden = false;
    });
  }

  // "(2) Inbox · Comptoir"; htmx swaps put the page's own title back, so it is re-applied.
  function applyTitle() {
    const plain = document.title.replace(/^\(\d+\) /, "");
    const total = handoffTotal();
    document.title = total ? "(" + total + ") " + plain : plain;
  }
  document.body.addEventListener("htmx:afterSettle", applyTitle);

  // Browsers only let a page play sound once the user has interacted with it.
  function unlockAudio() {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!audio && AudioContext) audio = new AudioContext();
  }
  ["pointerdown", "keydown"].forEach((type) => {
    document.addEventListener(type, unlockAudio, {once: true, capture: true});
  });

  // Two short rising notes, synthesised: no audio file to ship.
  function chime() {
    if (!audio) return;
    if (audio.state === "suspended") audio.resume();
    const start = audio.currentTime;
    [[880, 0], [1318.5, 0.13]].forEach(([frequency, delay]) => {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + delay);
      gain.gain.exponentialRampToValueAtTime(0.2, start + delay + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + delay + 0.3);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + delay);
      oscillator.stop(start + delay + 0.35);
    });
  }

  function refreshList() {
    if (!inboxNav || !window.htmx || !document.getElementById("results")) return;
    window.htmx.ajax("GET", window.location.href,
                     {target: "#results", select: "#results", swap: "outerHTML"});
  }

  socket.on("conversation.event", (event) => {
    if (event && event.queue_id != null) onHandoff(event);
  });

  if (!thread) return;

  // ------------------------------------------------------------ one conversation

  const conversationId = Number(thread.dataset.conversationId);
  const messagesUrl = thread.dataset.messagesUrl;
  const typingLine = document.getElementById("typing");
  const changedNotice = document.getElementById("live-changed");
  let loading = Promise.resolve(); // fetches run one after another: each sees the last seq
  let customerRead = Number(thread.dataset.customerReadSeq) || 0;
  let readSent = 0;
  let typingShownTimer = null;

  function lastSeq() {
    const items = thread.querySelectorAll("li[data-seq]");
    return items.length ? Number(items[items.length - 1].dataset.seq) : 0;
  }

  // `target()` names what to fetch when its turn comes (null: nothing is missing any more).
  function load(target) {
    loading = loading.then(() => {
      const url = target();
      if (!url) return undefined;
      return fetch(url, {credentials: "same-origin"}).then((response) => {
        if (!response.ok) return undefined;
        customerHasRead(Number(response.headers.get("X-Customer-Read-Seq")) || 0);
        return response.text().then(insertMessages);
      });
    }).catch(() => {}).then(markRead);
    return loading;
  }

  // After a (re)connection: whatever was posted since the page was rendered.
  function catchUp() {
    load(() => messagesUrl + "?after=" + lastSeq());
  }

  function onPosted(seq) {
    load(() => {
      if (document.getElementById("message-" + seq)) return null;
      return seq <= lastSeq() + 1 ? messagesUrl + "/" + seq
        : messagesUrl + "?after=" + lastSeq(); // some are missing before it: take them all
    });
  }

  // Thread items in seq order, each once (a login page after a logout has none).
  function insertMessages(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    template.content.querySelectorAll("li.message[data-seq]").forEach((item) => {
      if (document.getElementById(item.id)) return;
      const seq = Number(item.dataset.seq);
      const later = Array.from(thread.querySelectorAll("li[data-seq]"))
        .find((li) => Number(li.dataset.seq) > seq);
      thread.insertBefore(item, later || null);
    });
    const empty = thread.querySelector("li.empty");
    if (empty && thread.querySelector("li[data-seq]")) empty.remove();
    placeSeen();
  }

  function markRead() {
    const seq = lastSeq();
    if (document.visibilityState !== "visible" || !socket.connected || seq <= readSent) return;
    readSent = seq;
    socket.emit("read", {conversation_id: conversationId, seq: seq});
  }
  document.addEventListener("visibilitychange", markRead);

  // "Seen" goes under the last agent reply the customer has read.
  function placeSeen() {
    const read = Array.from(thread.querySelectorAll("li.message.from-agent:not(.internal)"))
      .filter((li) => Number(li.dataset.seq) <= customerRead);
    const target = read[read.length - 1];
    if (!target) return;
    let mark = thread.querySelector("[data-seen]");
    if (!mark) {
      mark = document.createElement("p");
      mark.className = "seen";
      mark.dataset.seen = "";
      mark.textContent = thread.dataset.seenText;
    }
    if (mark.parentElement !== target) target.appendChild(mark);
  }

  function showTyping(event) {
    clearTimeout(typingShownTimer);
    if (!event.typing) {
      typingLine.textContent = "";
      return;
    }
    const name = event.author.name || thread.dataset.customerName;
    typingLine.textContent = thread.dataset.typingText.replace("{name}", name);
    typingShownTimer = setTimeout(() => { typingLine.textContent = ""; }, TYPING_SHOWN_MS);
  }

  socket.on("connect", () => {
    socket.emit("subscribe", {conversation_id: conversationId}, () => catchUp());
  });

  socket.on("conversation.event", (event) => {
    if (!event || event.conversation_id !== conversationId || event.queue_id != null) return;
    if (event.type === "message.posted") {
      if (event.payload.author_kind === "customer") showTyping({typing: false});
      onPosted(event.payload.seq);
    } else if (!byMe(event) && changedNotice) {
      changedNotice.hidden = false; // the status, owner or properties shown are out of date
    }
  });

  socket.on("typing", (event) => {
    if (event && event.conversation_id === conversationId && event.author) showTyping(event);
  });

  function customerHasRead(seq) {
    customerRead = Math.max(customerRead, seq);
    placeSeen();
  }

  socket.on("read", (event) => {
    if (event && event.conversation_id === conversationId && event.reader === "customer") {
      customerHasRead(event.seq);
    }
  });

  // ------------------------------------------------------------ the agent typing
  const composer = document.getElementById("composer-body");
  if (!composer) return;
  let typingOn = false;
  let typingSentAt = 0;
  let idleTimer = null;

  function sendTyping(typing) {
    typingOn = typing;
    typingSentAt = Date.now();
    if (socket.connected) socket.emit("typing", {conversation_id: conversationId, typing: typing});
  }

  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingOn) sendTyping(false);
  }

  composer.addEventListener("input", () => {
    if (!composer.value.trim()) {
      stopTyping();
      return;
    }
    if (!typingOn || Date.now() - typingSentAt > TYPING_REPEAT_MS) sendTyping(true);
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  composer.form.addEventListener("submit", stopTyping);
})();
