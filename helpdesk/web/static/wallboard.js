// The wallboard, live (docs/wallboard.md): the server pushes a fresh board over Socket.IO
// on /agent after each change; this screen ticks the longest waits itself, from their
// start times. Without JavaScript the page reloads every minute instead.
(function () {
  "use strict";

  const REFRESH_MS = 60000; // a fresh board now and then: "today" rolls over, pushes get lost
  const board = document.getElementById("board");
  if (!board) return;

  const root = document.documentElement;
  const updated = document.getElementById("wb-updated");
  const lang = root.lang || undefined;
  const percent = new Intl.NumberFormat(lang, {style: "percent"});
  const timeOfDay = new Intl.DateTimeFormat(lang, {timeStyle: "medium"});
  let skew = 0; // the server's clock minus this screen's, in ms
  let shown = 0; // generated_at of the board on screen: an older one arriving late is ignored

  // "4:07", "1:02:09": a wait as a clock reads.
  function waitClock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor(total / 60) % 60;
    const rest = String(total % 60).padStart(2, "0");
    return hours ? hours + ":" + String(minutes).padStart(2, "0") + ":" + rest
      : minutes + ":" + rest;
  }

  function formatted(element, value) {
    if (value === null || value === undefined) return "—";
    return element.dataset.format === "percent" ? percent.format(value / 100) : String(value);
  }

  function valueAt(queue, path) {
    return path.split(".").reduce((value, key) => (value == null ? value : value[key]), queue);
  }

  function tick() {
    const now = Date.now() + skew;
    board.querySelectorAll("[data-since]").forEach((element) => {
      const since = Date.parse(element.dataset.since);
      element.textContent = waitClock(Number.isNaN(since) ? 0 : (now - since) / 1000);
    });
  }

  // Same queues in the same order, each with the same channels: only figures change.
  function sameLayout(queues) {
    const tiles = board.querySelectorAll("[data-queue-id]");
    return tiles.length === queues.length && queues.every((queue, index) =>
      tiles[index].dataset.queueId === String(queue.queue_id)
      && tiles[index].dataset.channels === Object.keys(queue.waiting).join(" "));
  }

  function fill(tile, queue) {
    tile.querySelectorAll("[data-field]").forEach((element) => {
      element.textContent = formatted(element, valueAt(queue, element.dataset.field));
    });
    tile.querySelector("[data-since]").dataset.since = queue.oldest_waiting_since || "";
    tile.classList.toggle("wb-waiting", queue.waiting_total > 0);
  }

  // Queues or channels changed: take the tiles from a freshly rendered page.
  function relayout() {
    fetch(window.location.href, {credentials: "same-origin"})
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        const fresh = html && new DOMParser().parseFromString(html, "text/html");
        const freshBoard = fresh && fresh.getElementById("board");
        if (!freshBoard) return;
        board.setAttribute("style", freshBoard.getAttribute("style"));
        board.replaceChildren(...freshBoard.childNodes);
        tick();
      })
      .catch(() => {});
  }

  function apply(data) {
    const generated = Date.parse(data && data.generated_at);
    if (Number.isNaN(generated) || generated < shown) return;
    shown = generated;
    skew = generated - Date.now();
    updated.dateTime = data.generated_at;
    updated.textContent = timeOfDay.format(new Date(generated));
    if (!sameLayout(data.queues)) {
      relayout();
      return;
    }
    const tiles = board.querySelectorAll("[data-queue-id]");
    data.queues.forEach((queue, index) => fill(tiles[index], queue));
    tick();
  }

  function refresh() {
    fetch(board.dataset.apiUrl, {credentials: "same-origin"})
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => { if (data) apply(data); })
      .catch(() => {});
  }

  setInterval(tick, 1000);
  setInterval(refresh, REFRESH_MS);
  if (typeof window.io !== "function") return;

  const socket = window.io("/agent"); // the session cookie authenticates
  socket.on("connect", () => {
    socket.emit("watch_wallboard", {}, (reply) => {
      if (!reply || !reply.ok) return;
      apply(reply.board);
      root.dataset.live = "on"; // in the room: pushes arrive from now on
    });
  });
  socket.on("disconnect", () => { root.dataset.live = "off"; });
  socket.on("wallboard", apply);
})();
