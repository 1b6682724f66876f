// Live recording: the camera's pictures go as JPEG binary messages to the recording socket
// (/ws/v1/training/sessions/{id}/record/, session cookie auth); each `landmarks` reply is drawn on
// an overlay canvas. At most one picture is in flight: the next goes after the reply, or after
// 500 ms without one (the server then keeps only the newest). Start/stop episode and gesture labels
// are socket messages too; replies and errors update the page.

import { announcer, readJson } from "./platform.js";

const RECONNECT_MAX_MS = 30_000;
const PING_EVERY_MS = 25_000;
const REPLY_TIMEOUT_MS = 500;
const CAPTURE_MAX_WIDTH = 640;
const JPEG_QUALITY = 0.8;
const CLOSE_REASONS = {
  4401: "You are signed out: sign in again to record.",
  4403: "Recording needs the editor role or higher.",
  4404: "This session no longer exists.",
};

// MediaPipe's 21 hand landmarks: wrist, then four points per finger from thumb to little finger.
const BONES = [
  [0, 1], [1, 2], [2, 3], [3, 4],
  [0, 5], [5, 6], [6, 7], [7, 8],
  [5, 9], [9, 10], [10, 11], [11, 12],
  [9, 13], [13, 14], [14, 15], [15, 16],
  [13, 17], [0, 17], [17, 18], [18, 19], [19, 20],
];
const HANDS = ["left", "right"];
const FRAME_ERRORS = new Set(["invalid_image", "internal_error", "message_too_large"]);

function setUpRecording(root) {
  const config = readJson("training-record-config");
  const feedback = root.querySelector("#record-feedback");
  const stage = root.querySelector("[data-stage]");
  const video = root.querySelector("[data-camera]");
  const overlay = root.querySelector("[data-overlay]");
  const placeholder = root.querySelector("[data-camera-placeholder]");
  const cameraButton = root.querySelector("[data-camera-toggle]");
  const mirrorBox = root.querySelector("[data-mirror]");
  const socketIndicator = root.querySelector("[data-socket-indicator]");
  const socketText = root.querySelector("[data-socket-text]");
  const episodeState = root.querySelector("[data-episode-state]");
  const startButton = root.querySelector("[data-start-episode]");
  const stopButton = root.querySelector("[data-stop-episode]");
  const framesOutput = root.querySelector("[data-frames-recorded]");
  const latencyOutput = root.querySelector("[data-latency]");
  const droppedOutput = root.querySelector("[data-dropped]");
  const handsOutput = root.querySelector("[data-hands]");
  const labelForm = root.querySelector("[data-label-form]");
  const labelSubmit = root.querySelector("[data-label-submit]");
  const labelsList = root.querySelector("[data-labels]");
  const gestureNames = root.querySelector("#gesture-names");
  const takesList = root.querySelector("[data-takes]");
  const capture = document.createElement("canvas");
  const minInterval = 1000 / Math.max(Number(config.fps) || 30, 1);

  let socket = null;
  let socketReady = false;
  let attempts = 0;
  let pingTimer = null;
  let retryTimer = null;
  let leaving = false;
  let accepting = Boolean(config.accepting);

  let stream = null;
  let inFlight = false;
  let encoding = false;
  let sentAt = 0;
  let pumpTimer = null;

  let episode = null; // the index recording now
  let lastEpisode = null; // the last one stopped (labels go there when none records)
  let lastFrame = null; // the newest stored frame of the recording episode
  let handsSeen = 0;

  // --- feedback
  const announce = announcer(feedback);

  function showSocket(state, text) {
    socketIndicator.dataset.state = state;
    socketText.textContent = text;
  }

  // --- controls follow the state
  function refreshControls() {
    const recording = episode !== null;
    startButton.hidden = recording;
    stopButton.hidden = !recording;
    startButton.disabled = !socketReady || !accepting;
    stopButton.disabled = !socketReady;
    labelSubmit.disabled = !socketReady || (episode === null && lastEpisode === null);
    if (recording) episodeState.textContent = `Recording episode ${episode}…`;
    else if (lastEpisode !== null) episodeState.textContent = `Not recording. Labels go to episode ${lastEpisode}.`;
    else episodeState.textContent = accepting ? "Not recording." : "This session takes no more frames.";
    root.dataset.recording = recording ? "true" : "false";
  }

  // --- the socket
  function send(message) {
    if (socket?.readyState !== WebSocket.OPEN) {
      announce("Not connected to the recording server yet; try again in a moment.");
      return false;
    }
    socket.send(typeof message === "string" || message instanceof Blob ? message : JSON.stringify(message));
    return true;
  }

  function openSocket() {
    showSocket("connecting", "connecting…");
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.socketPath}`;
    socket = new WebSocket(url);
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
      inFlight = false;
      if (episode !== null) {
        // The server stores what it received and closes the episode when the socket drops.
        takeStopped({ episode, frames: lastFrame === null ? 0 : lastFrame + 1, duration: null, interrupted: true });
      }
      refreshControls();
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
    const data = reply.data ?? {};
    switch (reply.type) {
      case "ready":
        socketReady = true;
        accepting = data.status === "recording";
        showSocket("live", "connected");
        refreshControls();
        schedulePump(0);
        break;
      case "landmarks":
        inFlight = false;
        showLandmarks(reply);
        schedulePump();
        break;
      case "episode_started":
        episode = Number(data.episode);
        lastFrame = null;
        framesOutput.textContent = "0";
        refreshControls();
        announce(`Episode ${episode} is recording.`, "success");
        break;
      case "episode_stopped":
        takeStopped(data);
        refreshControls();
        announce(`Episode ${data.episode} stopped: ${data.frames} frames.`, "success");
        break;
      case "labelled":
        labelled(data);
        break;
      case "error":
        if (FRAME_ERRORS.has(reply.code)) inFlight = false; // that picture will get no landmarks
        announce(reply.message || `Error: ${reply.code}`);
        if (reply.code === "session_not_recording") accepting = false;
        refreshControls();
        schedulePump();
        break;
      default:
    }
  }

  // --- episodes and labels
  function takeStopped(data) {
    const index = Number(data.episode);
    framesOutput.textContent = String(data.frames);
    episode = null;
    lastEpisode = index;
    lastFrame = null;
    root.querySelector("[data-takes-empty]")?.remove();
    const item = document.createElement("li");
    item.dataset.episode = String(index);
    const duration = typeof data.duration === "number" ? ` · ${data.duration.toFixed(1)} s` : "";
    item.textContent = `Episode ${index} · ${data.frames} frame${data.frames === 1 ? "" : "s"}${duration}`
      + (data.interrupted ? " (connection lost)" : "");
    takesList.prepend(item);
  }

  function labelled(data) {
    const item = document.createElement("li");
    item.setAttribute("data-testid", "label");
    const name = document.createElement("span");
    name.className = "gesture-list__name";
    name.textContent = data.name;
    const span = document.createElement("span");
    span.className = "muted";
    span.textContent = ` episode ${data.episode}, frames ${data.start_frame}–${data.end_frame}`;
    item.append(name, span);
    labelsList.prepend(item);
    if (![...gestureNames.options].some((option) => option.value === data.name)) {
      const option = document.createElement("option");
      option.value = data.name;
      gestureNames.append(option);
    }
    labelForm.elements.start_frame.value = "";
    labelForm.elements.end_frame.value = "";
    announce(`Labelled “${data.name}”.`, "success");
  }

  startButton.addEventListener("click", async () => {
    announce("");
    if (!stream) await startCamera();
    if (!stream) return;
    startButton.disabled = true;
    if (!send({ type: "start_episode" })) refreshControls();
  });
  stopButton.addEventListener("click", () => {
    announce("");
    stopButton.disabled = true;
    if (!send({ type: "stop_episode" })) refreshControls();
  });

  for (const button of labelForm.querySelectorAll("[data-mark]")) {
    button.addEventListener("click", () => {
      if (lastFrame === null) {
        announce("Start an episode first: frames are numbered while it records.");
        return;
      }
      labelForm.elements[button.dataset.mark === "start" ? "start_frame" : "end_frame"].value = String(lastFrame);
    });
  }

  labelForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = labelForm.elements.name.value.trim();
    const start = labelForm.elements.start_frame.value;
    const end = labelForm.elements.end_frame.value;
    if (!name || start === "" || end === "") {
      announce("Name the gesture and give its first and last frame.");
      (name ? labelForm.elements[start === "" ? "start_frame" : "end_frame"] : labelForm.elements.name).focus();
      return;
    }
    const message = { type: "label", name, start_frame: Number(start), end_frame: Number(end) };
    if (episode === null) message.episode = lastEpisode;
    announce("");
    send(message);
  });

  // --- the camera
  async function startCamera() {
    if (!navigator.mediaDevices?.getUserMedia) {
      announce("This browser cannot use a camera here (it needs HTTPS or localhost).");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false, video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
      });
    } catch (error) {
      stream = null;
      announce(error.name === "NotAllowedError" ? "Camera access was refused; allow it in the browser to record."
        : `The camera could not start: ${error.message}`);
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    placeholder.hidden = true;
    stage.classList.add("is-live");
    cameraButton.textContent = "Turn camera off";
    cameraButton.setAttribute("aria-pressed", "true");
    schedulePump(0);
  }

  function stopCamera() {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    placeholder.hidden = false;
    stage.classList.remove("is-live");
    cameraButton.textContent = "Turn camera on";
    cameraButton.setAttribute("aria-pressed", "false");
    clearTimeout(pumpTimer);
    clearOverlay();
  }

  cameraButton.addEventListener("click", () => {
    if (stream) {
      if (episode !== null) send({ type: "stop_episode" }); // no pictures, no frames: end the take
      stopCamera();
    } else {
      startCamera();
    }
  });
  mirrorBox.addEventListener("change", () => stage.classList.toggle("is-mirrored", mirrorBox.checked));
  video.addEventListener("loadedmetadata", () => {
    if (video.videoWidth && video.videoHeight) stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  });

  // --- sending pictures: one in flight, paced to the session's frame rate.
  function schedulePump(delay) {
    clearTimeout(pumpTimer);
    if (!stream || !socketReady) return;
    let wait = delay;
    if (wait === undefined) {
      const now = performance.now();
      wait = inFlight ? sentAt + REPLY_TIMEOUT_MS - now : sentAt + minInterval - now;
    }
    pumpTimer = setTimeout(pump, Math.max(wait, 0));
  }

  function pump() {
    if (!stream || !socketReady || encoding) return;
    const now = performance.now();
    if (inFlight && now - sentAt < REPLY_TIMEOUT_MS) {
      schedulePump();
      return;
    }
    if (!video.videoWidth || video.readyState < 2) {
      schedulePump(50);
      return;
    }
    const scale = Math.min(1, CAPTURE_MAX_WIDTH / video.videoWidth);
    capture.width = Math.round(video.videoWidth * scale);
    capture.height = Math.round(video.videoHeight * scale);
    capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
    encoding = true;
    capture.toBlob((blob) => {
      encoding = false;
      if (!blob || socket?.readyState !== WebSocket.OPEN) {
        schedulePump(100);
        return;
      }
      socket.send(blob);
      inFlight = true;
      sentAt = performance.now();
      schedulePump();
    }, "image/jpeg", JPEG_QUALITY);
  }

  // --- the overlay
  function sizeOverlay() {
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

  function clearOverlay() {
    const { ctx, width, height } = sizeOverlay();
    ctx.clearRect(0, 0, width, height);
    overlay.dataset.landmarks = "0";
  }

  function showLandmarks(reply) {
    const { ctx, width, height } = sizeOverlay();
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(overlay);
    let points = 0;
    const seen = [];
    for (const hand of HANDS) {
      const detected = reply.hands?.[hand];
      if (!detected?.landmarks?.length) continue;
      seen.push(`${hand} ${Math.round((detected.confidence ?? detected.score ?? 0) * 100)}%`);
      const colour = style.getPropertyValue(`--hand-${hand}`).trim() || (hand === "left" ? "#f97316" : "#4f6bff");
      const at = (i) => [detected.landmarks[i][0] * width, detected.landmarks[i][1] * height];
      ctx.strokeStyle = colour;
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.beginPath();
      for (const [a, b] of BONES) {
        if (!detected.landmarks[a] || !detected.landmarks[b]) continue;
        ctx.moveTo(...at(a));
        ctx.lineTo(...at(b));
      }
      ctx.stroke();
      ctx.fillStyle = "#fff";
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      for (let i = 0; i < detected.landmarks.length; i += 1) {
        const [px, py] = at(i);
        ctx.beginPath();
        ctx.arc(px, py, i === 0 ? 5 : 3.5, 0, Math.PI * 2);
        ctx.fill();
        ctx.stroke();
        points += 1;
      }
    }
    if (points) handsSeen += 1;
    overlay.dataset.landmarks = String(points);
    overlay.dataset.handsSeen = String(handsSeen);
    handsOutput.textContent = seen.length ? seen.join(", ") : "none";
    if (typeof reply.latency_ms === "number") latencyOutput.textContent = `${Math.round(reply.latency_ms)} ms`;
    if (typeof reply.dropped === "number") droppedOutput.textContent = String(reply.dropped);
    if (episode !== null && typeof reply.frame === "number") {
      lastFrame = reply.frame;
      framesOutput.textContent = String(reply.frame + 1);
    }
  }

  window.addEventListener("pagehide", () => {
    leaving = true;
    clearTimeout(retryTimer);
    socket?.close();
    stopCamera();
  });

  refreshControls();
  openSocket();
}

const recordRoot = document.querySelector("[data-training-record]");
if (recordRoot) setUpRecording(recordRoot);
