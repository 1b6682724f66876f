// Live posture: the camera's pictures go as JPEG binary messages to the posture socket
// (/ws/v1/posture/{model}/, session cookie auth); each `posture` reply draws the 17 keypoints and
// their bones on an overlay canvas and updates the score gauge and the issues. At most one picture
// is in flight: the next goes after the reply, or after 500 ms without one (the server then keeps
// only the newest). The camera and skeleton helpers are exported for the yoga practice page.

import { announcer, readJson } from "./platform.js";

const RECONNECT_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000;
const REPLY_TIMEOUT_MS = 500;
const MIN_INTERVAL_MS = 100; // about 10 pictures a second at most: posture changes slowly
const CAPTURE_MAX_WIDTH = 640;
const JPEG_QUALITY = 0.8;
const CLOSE_REASONS = {
  4401: "You are signed out: sign in again to see your posture.",
  4404: "The pose model is not available on the server right now.",
};
const FRAME_ERRORS = new Set(["invalid_image", "internal_error", "message_too_large", "no_person_detected"]);
// Soft messages: a hint under the picture, not an alarm.
const HINTS = { no_person_detected: "No person detected — step into the picture, facing the camera." };

// --- shared by the posture and yoga pages ------------------------------------------------------
// A camera on a <video>, with a picture grabber that remembers the size it sent (keypoints come
// back in pixels of that picture).
export function cameraControl(root, { announce, onStart, onStop }) {
  const stage = root.querySelector("[data-stage]");
  const video = root.querySelector("[data-camera]");
  const placeholder = root.querySelector("[data-camera-placeholder]");
  const button = root.querySelector("[data-camera-toggle]");
  const mirror = root.querySelector("[data-mirror]");
  const capture = document.createElement("canvas");
  const control = { stream: null, video, start, stop, grab };

  async function start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      announce("This browser cannot use a camera here (it needs HTTPS or localhost).");
      return false;
    }
    try {
      control.stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      });
    } catch (error) {
      control.stream = null;
      announce(error.name === "NotAllowedError" ? "Camera access was refused; allow it in the browser to continue."
        : `The camera could not start: ${error.message}`);
      return false;
    }
    video.srcObject = control.stream;
    await video.play().catch(() => {});
    placeholder.hidden = true;
    stage.classList.add("is-live");
    button.textContent = "Turn camera off";
    button.setAttribute("aria-pressed", "true");
    onStart?.();
    return true;
  }

  function stop() {
    for (const track of control.stream?.getTracks() ?? []) track.stop();
    control.stream = null;
    video.srcObject = null;
    placeholder.hidden = false;
    stage.classList.remove("is-live");
    button.textContent = "Turn camera on";
    button.setAttribute("aria-pressed", "false");
    onStop?.();
  }

  // The current picture as a JPEG blob with its size, or null while the video has none yet.
  function grab() {
    if (!control.stream || !video.videoWidth || video.readyState < 2) return Promise.resolve(null);
    const scale = Math.min(1, CAPTURE_MAX_WIDTH / video.videoWidth);
    capture.width = Math.round(video.videoWidth * scale);
    capture.height = Math.round(video.videoHeight * scale);
    capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
    const size = { width: capture.width, height: capture.height };
    return new Promise((resolve) => {
      capture.toBlob((blob) => resolve(blob ? { blob, ...size } : null), "image/jpeg", JPEG_QUALITY);
    });
  }

  button.addEventListener("click", () => (control.stream ? stop() : start()));
  mirror.addEventListener("change", () => stage.classList.toggle("is-mirrored", mirror.checked));
  video.addEventListener("loadedmetadata", () => {
    if (video.videoWidth && video.videoHeight) stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  });
  window.addEventListener("pagehide", stop);
  return control;
}

function sizeOverlay(overlay) {
  const ratio = window.devicePixelRatio || 1;
  const width = overlay.clientWidth;
  const height = overlay.clientHeight;
  if (overlay.width !== Math.round(width * ratio) || overlay.height !== Math.round(height * ratio)) {
    overlay.width = Math.round(width * ratio);
    overlay.height = Math.round(height * ratio);
  }
  const ctx = overlay.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}

export function clearSkeleton(overlay) {
  const { ctx, width, height } = sizeOverlay(overlay);
  ctx.clearRect(0, 0, width, height);
  overlay.dataset.keypoints = "0";
  overlay.dataset.keypointsSeen = "0";
}

// Draws COCO-17 keypoints ([x, y, score] in pixels of a picture of `size`) and the bones between
// the confident ones; unsure points are drawn hollow. Returns how many were confident.
export function drawSkeleton(overlay, keypoints, size, { bones, minScore }) {
  const { ctx, width, height } = sizeOverlay(overlay);
  ctx.clearRect(0, 0, width, height);
  if (!Array.isArray(keypoints) || !size?.width) return 0;
  const style = getComputedStyle(overlay);
  const bone = style.getPropertyValue("--pose-bone").trim() || "#5eead4";
  const joint = style.getPropertyValue("--pose-joint").trim() || "#ffffff";
  const at = (point) => [point[0] * (width / size.width), point[1] * (height / size.height)];
  const sure = (point) => Array.isArray(point) && Number.isFinite(point[0]) && point[2] >= minScore;
  ctx.lineCap = "round";
  ctx.strokeStyle = bone;
  ctx.lineWidth = 4;
  ctx.beginPath();
  for (const [a, b] of bones) {
    if (!sure(keypoints[a]) || !sure(keypoints[b])) continue;
    ctx.moveTo(...at(keypoints[a]));
    ctx.lineTo(...at(keypoints[b]));
  }
  ctx.stroke();
  let drawn = 0;
  let seen = 0;
  for (const point of keypoints) {
    if (!Array.isArray(point) || !Number.isFinite(point[0]) || !Number.isFinite(point[1])) continue;
    const confident = sure(point);
    ctx.beginPath();
    ctx.arc(...at(point), confident ? 5 : 3.5, 0, Math.PI * 2);
    ctx.lineWidth = 2;
    ctx.strokeStyle = bone;
    if (confident) {
      ctx.fillStyle = joint;
      ctx.fill();
      seen += 1;
    }
    ctx.globalAlpha = confident ? 1 : 0.45;
    ctx.stroke();
    ctx.globalAlpha = 1;
    drawn += 1;
  }
  overlay.dataset.keypoints = String(drawn);
  overlay.dataset.keypointsSeen = String(seen);
  return seen;
}

// --- the live posture page --------------------------------------------------------------------
function band(score) {
  if (score >= 85) return ["good", "Good posture."];
  if (score >= 65) return ["fair", "Fair posture: see what to adjust."];
  return ["poor", "Needs attention: see what to adjust."];
}

function setUpPosture(root) {
  const config = readJson("posture-config");
  const announce = announcer(root.querySelector("#posture-feedback"));
  const overlay = root.querySelector("[data-overlay]");
  const hint = root.querySelector("[data-pose-hint]");
  const socketIndicator = root.querySelector("[data-socket-indicator]");
  const socketText = root.querySelector("[data-socket-text]");
  const gauge = root.querySelector("[data-gauge]");
  const gaugeArc = root.querySelector("[data-gauge-arc]");
  const gaugeNumber = root.querySelector("[data-gauge-number]");
  const gaugeLabel = root.querySelector("[data-gauge-label]");
  const verdict = root.querySelector("[data-verdict]");
  const latencyOutput = root.querySelector("[data-latency]");
  const seenOutput = root.querySelector("[data-seen]");
  const issuesList = root.querySelector("[data-issues]");

  let socket = null;
  let socketReady = false;
  let attempts = 0;
  let pingTimer = null;
  let retryTimer = null;
  let leaving = false;
  let inFlight = null; // {width, height} of the picture the server is working on
  let sentAt = 0;
  let encoding = false;
  let pumpTimer = null;

  const camera = cameraControl(root, {
    announce,
    onStart: () => {
      verdict.textContent = socketReady ? "Looking for you…" : "Waiting for the posture server…";
      schedulePump(0);
    },
    onStop: () => {
      clearTimeout(pumpTimer);
      clearSkeleton(overlay);
      showHint("");
    },
  });

  function showSocket(state, text) {
    socketIndicator.dataset.state = state;
    socketText.textContent = text;
  }

  function showHint(text) {
    hint.textContent = text;
    hint.hidden = !text;
  }

  function openSocket() {
    showSocket("connecting", "connecting…");
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.socketPath}`);
    socket.addEventListener("open", () => {
      attempts = 0;
      pingTimer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), PING_EVERY_MS);
    });
    socket.addEventListener("message", (message) => {
      if (typeof message.data !== "string") return;
      let reply;
      try {
        reply = JSON.parse(message.data);
      } catch {
        return;
      }
      if (reply && typeof reply.type === "string") onReply(reply);
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pingTimer);
      socketReady = false;
      inFlight = null;
      if (leaving) return;
      if (CLOSE_REASONS[event.code]) {
        showSocket("offline", "not connected");
        announce(CLOSE_REASONS[event.code]);
        return;
      }
      showSocket("reconnecting", "reconnecting…");
      const delay = Math.min(RECONNECT_MAX_MS, 1000 * 2 ** attempts) * (0.5 + Math.random() / 2);
      attempts += 1;
      retryTimer = setTimeout(openSocket, delay);
    });
  }

  function onReply(reply) {
    switch (reply.type) {
      case "ready":
        socketReady = true;
        showSocket("live", "connected");
        if (camera.stream) verdict.textContent = "Looking for you…";
        schedulePump(0);
        break;
      case "posture": {
        const size = inFlight;
        inFlight = null;
        showPosture(reply, size);
        schedulePump();
        break;
      }
      case "error":
        if (FRAME_ERRORS.has(reply.code)) inFlight = null; // that picture gets no keypoints
        if (HINTS[reply.code]) {
          clearSkeleton(overlay);
          showHint(HINTS[reply.code]);
          seenOutput.textContent = "0";
          root.dataset.lastError = reply.code;
        } else {
          announce(reply.message || `Error: ${reply.code}`);
        }
        schedulePump();
        break;
      default:
    }
  }

  function showPosture(reply, size) {
    showHint("");
    announce("");
    root.dataset.lastError = "";
    const seen = drawSkeleton(overlay, reply.keypoints, size, config);
    seenOutput.textContent = `${seen} of ${config.keypointNames.length}`;
    const score = Math.round(Number(reply.posture_score));
    const [level, text] = band(score);
    gaugeArc.setAttribute("stroke-dasharray", `${score} 100`);
    gaugeNumber.textContent = String(score);
    gaugeLabel.textContent = `Posture score ${score} of 100`;
    gauge.dataset.score = String(score);
    gauge.dataset.band = level;
    verdict.textContent = text;
    if (typeof reply.latency_ms === "number") latencyOutput.textContent = `${Math.round(reply.latency_ms)} ms`;
    showIssues(Array.isArray(reply.issues) ? reply.issues : []);
  }

  function showIssues(issues) {
    const items = issues.map((issue) => {
      const item = document.createElement("li");
      item.setAttribute("data-testid", "issue");
      item.dataset.code = issue.code;
      const message = document.createElement("span");
      message.textContent = issue.message;
      const penalty = document.createElement("span");
      penalty.className = "issue-list__penalty";
      penalty.textContent = `−${Number(issue.penalty).toFixed(1)}`;
      penalty.title = "Points taken off the score";
      item.append(message, penalty);
      return item;
    });
    if (!items.length) {
      const item = document.createElement("li");
      item.className = "issue-list__none";
      item.textContent = "Nothing to adjust: well done.";
      items.push(item);
    }
    issuesList.replaceChildren(...items);
  }

  // --- sending pictures: one in flight
  function schedulePump(delay) {
    clearTimeout(pumpTimer);
    if (!camera.stream || !socketReady) return;
    let wait = delay;
    if (wait === undefined) {
      const now = performance.now();
      wait = inFlight ? sentAt + REPLY_TIMEOUT_MS - now : sentAt + MIN_INTERVAL_MS - now;
    }
    pumpTimer = setTimeout(pump, Math.max(wait, 0));
  }

  async function pump() {
    if (!camera.stream || !socketReady || encoding) return;
    if (inFlight && performance.now() - sentAt < REPLY_TIMEOUT_MS) {
      schedulePump();
      return;
    }
    encoding = true;
    const picture = await camera.grab();
    encoding = false;
    if (!picture || socket?.readyState !== WebSocket.OPEN) {
      schedulePump(100);
      return;
    }
    socket.send(picture.blob);
    inFlight = { width: picture.width, height: picture.height };
    sentAt = performance.now();
    schedulePump();
  }

  window.addEventListener("pagehide", () => {
    leaving = true;
    clearTimeout(retryTimer);
    socket?.close();
  });

  openSocket();
}

const postureRoot = document.querySelector("[data-posture-live]");
if (postureRoot) setUpPosture(postureRoot);
