// Shared by the platform's pages (ES module): REST calls with the session cookie and CSRF token,
// the user event socket with reconnects, and the "live" indicator.

const RECONNECT_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000;
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;

export function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

// --- REST API ---------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    const fieldMessage = error.fields ? Object.values(error.fields).flat()[0] : null;
    super(fieldMessage || error.message || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.code = error.code ?? "error";
    this.fields = error.fields ?? null;
  }
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

export function apiHeaders(method, organizationId) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  // Pages send the organisation they show, so a switch in another tab cannot redirect the calls.
  if (organizationId) headers["X-Organization"] = String(organizationId);
  return headers;
}

export async function apiRequest(method, url, { body, organizationId } = {}) {
  const headers = apiHeaders(method, organizationId);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: { code: "network_error", message: "The server cannot be reached; check your connection." } });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// --- the user event socket --------------------------------------------------------------------
// Calls onEvent({type, id, at, data}) for each event; reconnects with backoff when the socket
// closes, except when the server refused the user (signed out): then it reports "offline".
// With `batchTelemetry`, robot state comes batched (one robot_status_batch frame per server tick,
// ?telemetry=batch) and is handed on as one robot_status_update per robot, as the unbatched stream
// would deliver it.
export function subscribeToEvents(path, { onEvent, onStatus, onReopen, batchTelemetry = false }) {
  const query = batchTelemetry ? `${path.includes("?") ? "&" : "?"}telemetry=batch` : "";
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}${query}`;
  let socket = null;
  let attempts = 0;
  let opened = false;
  let pingTimer = null;
  let retryTimer = null;
  let stopped = false;

  function open() {
    onStatus("connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      attempts = 0;
      onStatus("live");
      if (opened) onReopen?.();
      opened = true;
      pingTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), PING_EVERY_MS);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!event || typeof event.type !== "string" || !event.data || typeof event.data !== "object") return;
      if (event.type === "robot_status_batch") {
        for (const data of Array.isArray(event.data.robots) ? event.data.robots : []) {
          if (data && typeof data === "object") onEvent({ type: "robot_status_update", id: event.id, at: event.at, data });
        }
        return;
      }
      onEvent(event);
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pingTimer);
      if (stopped) return;
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
        onStatus("offline");
        return;
      }
      onStatus("reconnecting");
      const delay = Math.min(RECONNECT_MAX_MS, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
      attempts += 1;
      retryTimer = setTimeout(open, delay);
    });
  }

  window.addEventListener("pagehide", () => {
    stopped = true;
    clearTimeout(retryTimer);
    socket?.close();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && stopped) {
      stopped = false;
      open();
    }
  });
  open();
}

const LIVE_TEXT = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", offline: "not live — reload the page" };

export function showLiveStatus(status) {
  for (const indicator of document.querySelectorAll("[data-live-indicator]")) {
    indicator.hidden = false;
    indicator.dataset.state = status;
    const text = indicator.querySelector("[data-live-text]");
    if (text) text.textContent = LIVE_TEXT[status] ?? status;
  }
}

// Messages in a page's feedback area: errors stay until the next message; confirmations fade.
export function announcer(area) {
  let timer = null;
  return function announce(message, level = "error") {
    clearTimeout(timer);
    area.replaceChildren();
    if (!message) return;
    const notice = document.createElement("p");
    notice.className = `notice notice--${level}`;
    notice.dataset.level = level;
    notice.textContent = message;
    area.append(notice);
    if (level !== "error") timer = setTimeout(() => area.replaceChildren(), 6000);
  };
}
