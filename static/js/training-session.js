// The training session page: a confidence/presence chart per episode, the LeRobot export with its
// progress bar and download link, and video uploads whose hand extraction reports progress live.
// Talks to the REST API with the session cookie and listens on the user event socket for
// `export_progress` and `training_progress`; the export also polls, in case an event is missed.

import { ApiError, announcer, apiHeaders, apiRequest, readJson, showLiveStatus, subscribeToEvents } from "./platform.js";

const POLL_EVERY_MS = 2_000;
const EAGER_CHARTS = 4;
const EXPORT_FINAL = new Set(["completed", "failed"]);

// A multipart upload with progress (fetch cannot report upload progress).
function uploadWithProgress(url, formData, { organizationId, onProgress }) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    for (const [name, value] of Object.entries(apiHeaders("POST", organizationId))) request.setRequestHeader(name, value);
    request.withCredentials = true;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        // not JSON: reported below by status
      }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(new ApiError(request.status, data));
    });
    request.addEventListener("error", () => reject(new ApiError(0, {
      error: { code: "network_error", message: "The upload failed; check your connection." } })));
    request.send(formData);
  });
}

// --- formatting -------------------------------------------------------------------------------
const percentText = (fraction) => `${Math.round(Math.min(Math.max(Number(fraction) || 0, 0), 1) * 100)}%`;

function fileSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
}

// --- the timeline chart -----------------------------------------------------------------------
// Confidence of each hand (0–1) as lines over time, broken where that hand is not seen; below the
// plot one strip per hand marks the frames where it is present; labelled gestures are shaded.
const CHART_PAD = { left: 40, right: 12, top: 10, bottom: 22 };
const STRIP_HEIGHT = 6;
const STRIP_GAP = 3;

function niceStep(span, targetTicks) {
  const raw = span / Math.max(targetTicks, 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const normalised = raw / magnitude;
  const nice = normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10;
  return nice * magnitude;
}

function drawTimeline(canvas, timeline, gestures) {
  const style = getComputedStyle(canvas);
  const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  const colours = {
    left: colour("--timeline-left", "#c2410c"),
    right: colour("--timeline-right", "#3a4fd8"),
    grid: colour("--timeline-grid", "#dde1ea"),
    text: colour("--timeline-text", "#5b6477"),
    gesture: colour("--timeline-gesture", "rgb(31 122 77 / 14%)"),
    gestureText: colour("--timeline-gesture-text", "#1f7a4d"),
  };
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = `11px ${style.fontFamily || "system-ui, sans-serif"}`;

  const times = timeline.t;
  const n = times.length;
  const stripsHeight = 2 * STRIP_HEIGHT + 2 * STRIP_GAP;
  const plot = {
    x: CHART_PAD.left,
    y: CHART_PAD.top,
    w: Math.max(width - CHART_PAD.left - CHART_PAD.right, 10),
    h: Math.max(height - CHART_PAD.top - CHART_PAD.bottom - stripsHeight, 10),
  };
  const tEnd = n ? Math.max(times[n - 1], 1e-6) : 1;
  const x = (t) => plot.x + (t / tEnd) * plot.w;
  const y = (value) => plot.y + (1 - value) * plot.h;
  // The time of frame `frame` (timeline points are every `step` frames).
  const frameTime = (frame) => times[Math.min(Math.floor(frame / (timeline.step || 1)), n - 1)] ?? 0;

  // Gesture spans, behind everything.
  for (const gesture of gestures) {
    const x0 = x(frameTime(gesture.start_frame));
    const x1 = Math.max(x(frameTime(gesture.end_frame)), x0 + 2);
    ctx.fillStyle = colours.gesture;
    ctx.fillRect(x0, plot.y, x1 - x0, plot.h + stripsHeight);
    if (x1 - x0 > 24) {
      ctx.fillStyle = colours.gestureText;
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText(gesture.name, x0 + 3, plot.y + 2, x1 - x0 - 6);
    }
  }

  // Grid and axes.
  ctx.strokeStyle = colours.grid;
  ctx.fillStyle = colours.text;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const value of [0, 0.5, 1]) {
    const gy = Math.round(y(value)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(plot.x, gy);
    ctx.lineTo(plot.x + plot.w, gy);
    ctx.stroke();
    ctx.fillText(`${value * 100}%`, plot.x - 6, gy);
  }
  const step = niceStep(tEnd, Math.max(Math.floor(plot.w / 70), 2));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let t = 0; t <= tEnd + 1e-9; t += step) {
    ctx.fillText(`${Number(t.toFixed(3))} s`, Math.min(Math.max(x(t), plot.x + 8), plot.x + plot.w - 8), height - CHART_PAD.bottom + 6);
  }

  // Presence strips, one per hand.
  const hands = [
    { key: "left", confidence: timeline.left_confidence, present: timeline.left_present },
    { key: "right", confidence: timeline.right_confidence, present: timeline.right_present },
  ];
  hands.forEach((hand, row) => {
    const top = plot.y + plot.h + STRIP_GAP + row * (STRIP_HEIGHT + STRIP_GAP);
    ctx.fillStyle = colours.grid;
    ctx.fillRect(plot.x, top, plot.w, STRIP_HEIGHT);
    ctx.fillStyle = colours[hand.key];
    for (let i = 0; i < n; i += 1) {
      if (!hand.present[i]) continue;
      let j = i;
      while (j + 1 < n && hand.present[j + 1]) j += 1;
      const x0 = x(times[i]);
      const x1 = j + 1 < n ? x(times[j + 1]) : plot.x + plot.w;
      ctx.fillRect(x0, top, Math.max(x1 - x0, 1), STRIP_HEIGHT);
      i = j;
    }
  });

  // Confidence lines, broken where the hand is absent.
  ctx.lineWidth = 2;
  ctx.lineJoin = "round";
  for (const hand of hands) {
    ctx.strokeStyle = colours[hand.key];
    ctx.beginPath();
    let drawing = false;
    for (let i = 0; i < n; i += 1) {
      if (!hand.present[i]) {
        drawing = false;
        continue;
      }
      const px = x(times[i]);
      const py = y(hand.confidence[i]);
      if (drawing) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      drawing = true;
    }
    ctx.stroke();
  }
  canvas.dataset.drawn = "true";
  canvas.dataset.points = String(n);
}

// --- the page ---------------------------------------------------------------------------------
function setUpSession(root) {
  const config = readJson("training-session-config");
  const labels = readJson("training-labels") ?? {};
  const { sessionId, apiRoot, organizationId } = config;
  const sessionUrl = `${apiRoot}sessions/${sessionId}`;
  const api = (method, path, body) => apiRequest(method, `${sessionUrl}${path}`, { body, organizationId });

  const feedback = root.querySelector("#session-feedback");
  const episodesRoot = root.querySelector("[data-episodes]");
  const episodesEmpty = root.querySelector("[data-episodes-empty]");
  const episodeTemplate = document.getElementById("episode-template");

  const announce = announcer(feedback);

  // --- charts: fetched when they scroll into view, redrawn when their width changes.
  const timelines = new Map(); // canvas → {timeline, gestures}

  function gesturesOf(article) {
    return [...article.querySelectorAll("[data-episode-gestures] [data-start-frame]")].map((item) => ({
      name: item.querySelector(".gesture-list__name")?.textContent ?? "",
      start_frame: Number(item.dataset.startFrame),
      end_frame: Number(item.dataset.endFrame),
    }));
  }

  async function loadTimeline(article) {
    const canvas = article.querySelector("[data-timeline]");
    const index = article.dataset.episode;
    if (!canvas || index === undefined || !Number(article.dataset.frames)) return;
    canvas.dataset.loading = "true";
    try {
      const timeline = await api("GET", `/episodes/${index}/timeline`);
      const entry = { timeline, gestures: gesturesOf(article) };
      timelines.set(canvas, entry);
      drawTimeline(canvas, entry.timeline, entry.gestures);
    } catch (error) {
      announce(`The chart of episode ${index} could not be loaded: ${error.message}`);
    } finally {
      delete canvas.dataset.loading;
    }
  }

  const resizeObserver = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const drawn = timelines.get(entry.target);
      if (drawn) drawTimeline(entry.target, drawn.timeline, drawn.gestures);
    }
  });
  const visibleObserver = "IntersectionObserver" in window ? new IntersectionObserver((entries, observer) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      loadTimeline(entry.target.closest("[data-episode]"));
    }
  }, { rootMargin: "200px" }) : null;

  function watchChart(article) {
    const canvas = article.querySelector("[data-timeline]");
    if (!canvas || !Number(article.dataset.frames)) return;
    resizeObserver.observe(canvas);
    if (visibleObserver) visibleObserver.observe(canvas);
    else loadTimeline(article);
  }

  // --- episodes: filled from the API's episode JSON (new ones cloned from the template).
  function episodeArticle(index) {
    let article = episodesRoot.querySelector(`[data-episode="${index}"]`);
    if (article) return article;
    article = episodeTemplate.content.firstElementChild.cloneNode(true);
    article.dataset.episode = String(index);
    article.id = `episode-${index}`;
    const title = article.querySelector("[data-episode-title]");
    title.id = `episode-${index}-title`;
    title.textContent = `Episode ${index}`;
    article.setAttribute("aria-labelledby", title.id);
    const progress = article.querySelector("[data-episode-progress]");
    progress.id = `episode-${index}-progress`;
    article.querySelector("[data-episode-progress-wrap] label").htmlFor = progress.id;
    const canvas = article.querySelector("[data-timeline]");
    canvas.setAttribute("aria-label", `Hand confidence and presence over time for episode ${index}`);
    const later = [...episodesRoot.querySelectorAll("[data-episode]")].find((other) => Number(other.dataset.episode) > index);
    episodesRoot.insertBefore(article, later ?? null);
    episodesEmpty.hidden = true;
    return article;
  }

  function fillEpisode(episode) {
    const article = episodeArticle(episode.index);
    const previousFrames = Number(article.dataset.frames) || 0;
    const set = (selector, text) => {
      const element = article.querySelector(selector);
      if (element) element.textContent = text;
    };
    if (episode.status) {
      const badge = article.querySelector("[data-episode-status]");
      badge.className = `badge badge--episode-${episode.status}`;
      badge.textContent = labels.episodeStatus?.[episode.status] ?? episode.status;
    }
    if (episode.source) set("[data-episode-source]", labels.episodeSource?.[episode.source] ?? episode.source);
    if (typeof episode.frame_count === "number") {
      article.dataset.frames = String(episode.frame_count);
      set("[data-episode-frames]", String(episode.frame_count));
      set("[data-episode-duration]", `${Number(episode.duration || 0).toFixed(2)} s`);
      set("[data-episode-presence]", episode.frame_count ? percentText(episode.hands_present_ratio) : "—");
      set("[data-episode-confidence]", episode.frame_count ? percentText(episode.mean_confidence) : "—");
    }
    const processing = episode.status === "processing";
    article.querySelector("[data-episode-progress-wrap]").hidden = !processing;
    if (typeof episode.progress === "number") {
      article.querySelector("[data-episode-progress]").value = Math.round(Math.min(Math.max(episode.progress, 0), 1) * 100);
    }
    const error = article.querySelector("[data-episode-error]");
    if (episode.error !== undefined) {
      error.textContent = episode.error || "";
      error.hidden = !episode.error;
    }
    if (Array.isArray(episode.gestures)) {
      const list = article.querySelector("[data-episode-gestures]");
      list.replaceChildren(...(episode.gestures.length ? episode.gestures.map(gestureItem) : [emptyGestures()]));
      const canvas = article.querySelector("[data-timeline]");
      const drawn = timelines.get(canvas);
      if (drawn) {
        drawn.gestures = gesturesOf(article);
        drawTimeline(canvas, drawn.timeline, drawn.gestures);
      }
    }
    const frames = Number(article.dataset.frames) || 0;
    article.querySelector("[data-timeline-figure]").hidden = !frames;
    if (frames && frames !== previousFrames) {
      // New frames (a video processed): draw the chart now, it is what the user is waiting for.
      const canvas = article.querySelector("[data-timeline]");
      timelines.delete(canvas);
      visibleObserver?.unobserve(canvas);
      resizeObserver.observe(canvas);
      loadTimeline(article);
    }
    return article;
  }

  function gestureItem(gesture) {
    const item = document.createElement("li");
    item.setAttribute("data-testid", "gesture");
    item.dataset.startFrame = String(gesture.start_frame);
    item.dataset.endFrame = String(gesture.end_frame);
    const name = document.createElement("span");
    name.className = "gesture-list__name";
    name.textContent = gesture.name;
    const span = document.createElement("span");
    span.className = "muted";
    span.textContent = ` frames ${gesture.start_frame}–${gesture.end_frame} · confidence ${percentText(gesture.confidence)}`;
    item.append(name, span);
    return item;
  }

  function emptyGestures() {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = "No gestures labelled.";
    return item;
  }

  function showSessionStatus(status) {
    const badge = root.querySelector("[data-session-status]");
    if (!badge || !status) return;
    badge.className = `badge badge--session-${status}`;
    badge.textContent = labels.sessionStatus?.[status] ?? status;
  }

  function showSession(session) {
    showSessionStatus(session.status);
    const stats = session.stats;
    if (stats) {
      const set = (name, text) => {
        const element = root.querySelector(`[data-stat="${name}"]`);
        if (element) element.textContent = text;
      };
      set("episodes", String(stats.episodes));
      set("frames", String(stats.frames));
      set("duration", `${Number(stats.duration).toFixed(1)} s`);
      set("hands-present", stats.frames ? percentText(stats.hands_present_ratio) : "—");
      set("confidence", stats.frames ? percentText(stats.mean_confidence) : "—");
      const exportButton = root.querySelector("[data-testid=export-button]");
      if (exportButton && stats.frames) {
        exportButton.disabled = false;
        exportButton.removeAttribute("aria-describedby");
        root.querySelector("[data-export-needs-frames]")?.remove();
      }
    }
    if (Array.isArray(session.episodes)) {
      for (const episode of session.episodes) fillEpisode(episode);
      showGestureCount(session.episodes);
    }
  }

  function showGestureCount(episodes) {
    const element = root.querySelector('[data-stat="gestures"]');
    if (element) element.textContent = String(episodes.reduce((sum, episode) => sum + (episode.gestures?.length ?? 0), 0));
  }

  async function refreshSession() {
    try {
      showSession(await api("GET", ""));
    } catch (error) {
      announce(`The session could not be refreshed: ${error.message}`);
    }
  }

  // --- export: the button starts it (or returns the existing one); events and polling move the bar.
  const exportPanel = root.querySelector("[data-export-panel]");
  const exportForm = exportPanel.querySelector("[data-export-form]");
  const exportSummary = exportPanel.querySelector("[data-export-summary]");
  const exportProgressWrap = exportPanel.querySelector("[data-export-progress-wrap]");
  const exportProgress = exportPanel.querySelector("[data-export-progress]");
  const exportPercent = exportPanel.querySelector("[data-export-percent]");
  const exportStage = exportPanel.querySelector("[data-export-stage]");
  const exportError = exportPanel.querySelector("[data-export-error]");
  const exportDownload = exportPanel.querySelector("[data-export-download]");
  let currentExportId = null;
  let pollTimer = null;

  function showExport(exported) {
    const id = Number(exported.export_id);
    if (currentExportId && id < currentExportId) return; // an older export's late event
    currentExportId = id;
    const status = exported.status;
    const done = status === "completed";
    const fraction = done ? 1 : Number(exported.progress) || 0;
    const value = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
    exportProgressWrap.hidden = status === "failed";
    exportProgress.value = value;
    exportProgress.textContent = `${value}%`;
    exportPercent.textContent = `${value}%`;
    exportStage.textContent = exported.stage && !done ? exported.stage : "";
    exportProgress.classList.toggle("progress--done", done);

    const badge = document.createElement("span");
    badge.className = `badge badge--export-${status}`;
    badge.dataset.exportStatus = "";
    badge.textContent = labels.exportStatus?.[status] ?? status;
    const parts = [badge];
    if (done && typeof exported.frame_count === "number") {
      parts.push(` ${exported.episode_count} episode${exported.episode_count === 1 ? "" : "s"}, `
        + `${exported.frame_count} frames, ${fileSize(exported.archive_size)}`);
    }
    exportSummary.replaceChildren(...parts);

    exportError.textContent = exported.error || "";
    exportError.hidden = !exported.error;
    const downloadUrl = exported.download_url || (done ? `${apiRoot}exports/${id}/download` : null);
    if (downloadUrl) exportDownload.href = downloadUrl;
    exportDownload.hidden = !downloadUrl;
    const exportButton = exportForm?.querySelector("button[type=submit]");
    exportButton?.classList.toggle("btn--primary", !downloadUrl);
    exportButton?.classList.toggle("btn--secondary", Boolean(downloadUrl));
    // Requesting an export ended the recording (the service completes the session first).
    for (const element of root.querySelectorAll("[data-recording-only]")) element.hidden = true;
    for (const element of root.querySelectorAll("[data-recording-closed]")) element.hidden = false;
    showSessionStatus(done ? "exported" : "completed");
    if (EXPORT_FINAL.has(status)) stopPolling();
    else startPolling();
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(pollExport, POLL_EVERY_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  async function pollExport() {
    try {
      showExport(await api("GET", "/export/lerobot"));
    } catch (error) {
      if (error.status !== 404) announce(`The export's progress could not be read: ${error.message}`);
      stopPolling();
    }
  }

  exportForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = exportForm.querySelector("button[type=submit]");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    announce("");
    try {
      currentExportId = null;
      const exported = await api("POST", "/export/lerobot", {});
      showExport(exported);
      announce(exported.status === "completed" ? "The dataset is ready to download." : "The export started.", "success");
      if (exported.status === "completed") exportDownload.focus();
    } catch (error) {
      announce(error.message);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });

  // --- video upload: a new episode whose hands are extracted in the background.
  const videoForm = root.querySelector("[data-video-form]");
  videoForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = videoForm.querySelector("input[type=file]");
    if (!input.files.length) {
      announce("Choose a video file to upload.");
      input.focus();
      return;
    }
    const button = videoForm.querySelector("button[type=submit]");
    const wrap = videoForm.querySelector("[data-upload-progress-wrap]");
    const bar = videoForm.querySelector("[data-upload-progress]");
    button.disabled = true;
    wrap.hidden = false;
    bar.value = 0;
    announce("");
    const formData = new FormData();
    formData.append("video", input.files[0]);
    try {
      const episode = await uploadWithProgress(`${sessionUrl}/video`, formData, {
        organizationId, onProgress: (fraction) => { bar.value = Math.round(fraction * 100); },
      });
      fillEpisode(episode);
      videoForm.reset();
      announce(episode.status === "processing"
        ? `Uploaded as episode ${episode.index}; extracting the hands…` : `Episode ${episode.index} is ready.`, "success");
      refreshSession();
    } catch (error) {
      announce(error.message);
    } finally {
      button.disabled = false;
      wrap.hidden = true;
    }
  });

  // --- events
  subscribeToEvents(config.eventsSocketPath, {
    onStatus: showLiveStatus,
    onReopen() {
      refreshSession();
      if (currentExportId) pollExport();
    },
    onEvent(event) {
      const data = event.data;
      if (Number(data.session_id) !== sessionId) return;
      if (event.type === "export_progress") {
        if (data.status === "completed") pollExport(); // the archive's size and link come with it
        else showExport(data);
      } else if (event.type === "training_progress") {
        const index = Number(data.episode);
        if (data.status === "processing") fillEpisode({ index, status: "processing", progress: Number(data.progress) || 0 });
        else refreshSession(); // done or failed: the episode's numbers and the session's totals changed
      }
    },
  });

  // The first charts load at once; further down they load as they scroll into view.
  [...episodesRoot.querySelectorAll("[data-episode]")].forEach((article, position) => {
    if (position >= EAGER_CHARTS) {
      watchChart(article);
    } else if (Number(article.dataset.frames)) {
      resizeObserver.observe(article.querySelector("[data-timeline]"));
      loadTimeline(article);
    }
  });
  // An export still running when the page loaded: follow it.
  if (config.export) {
    currentExportId = config.export.id;
    if (!EXPORT_FINAL.has(config.export.status)) startPolling();
  }
}

const sessionRoot = document.querySelector("[data-training-session]");
if (sessionRoot) setUpSession(sessionRoot);
