// Yoga practice: while a pose is chosen and the camera is on, a picture goes to
// POST /api/v1/yoga/analyze/{slug} (JSON base64) about every second and a half, one at a time; the
// answer's accuracy, feedback and improvements are shown and the keypoints drawn. Each pose keeps
// its best and last accuracy; "Save session" posts them to /api/v1/yoga/sessions with the minutes
// since the practice started.

import { announcer, apiRequest, readJson } from "./platform.js";
import { cameraControl, clearSkeleton, drawSkeleton } from "./posture-live.js";

const MIN_DURATION_MINUTES = 0.1;
// Answers that mean "we could not judge this picture": a hint under the picture, not an alarm.
const HINTS = {
  not_enough_keypoints: "Not enough of you is visible — step back so the camera sees your whole body.",
  no_person_detected: "No person detected — step into the picture.",
};

function setUpPractice(root) {
  const config = readJson("yoga-config");
  const poses = new Map(config.poses.map((pose) => [pose.slug, pose]));
  const announce = announcer(root.querySelector("#yoga-feedback"));
  const overlay = root.querySelector("[data-overlay]");
  const hint = root.querySelector("[data-pose-hint]");
  const select = root.querySelector("[data-pose-select]");
  const details = root.querySelector("[data-pose-details]");
  const accuracyWrap = root.querySelector("[data-accuracy-wrap]");
  const accuracyNumber = root.querySelector("[data-accuracy-number]");
  const accuracyMeter = root.querySelector("[data-accuracy-meter]");
  const analysisState = root.querySelector("[data-analysis-state]");
  const feedbackList = root.querySelector("[data-feedback]");
  const improvementsList = root.querySelector("[data-improvements]");
  const elapsedOutput = root.querySelector("[data-elapsed]");
  const heldBody = root.querySelector("[data-held]");
  const saveButton = root.querySelector("[data-save]");
  const saved = root.querySelector("[data-saved]");
  const interval = 1000 / Math.max(Number(config.analysesPerSecond) || 1, 0.2);

  let startedAt = null; // the practice started when the camera first showed a chosen pose
  let held = new Map(); // slug → {name, best, last, feedback, improvements}
  let analysing = false;
  let timer = null;
  let clock = null;
  let saving = false;

  const camera = cameraControl(root, {
    announce,
    onStart: () => {
      startPractice();
      schedule(0);
    },
    onStop: () => {
      clearTimeout(timer);
      clearSkeleton(overlay);
      showHint("");
      analysisState.textContent = "The camera is off.";
    },
  });

  function showHint(text) {
    hint.textContent = text;
    hint.hidden = !text;
  }

  function fillList(list, items) {
    const rows = (items.length ? items : ["—"]).map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      if (!items.length) item.className = "muted";
      return item;
    });
    list.replaceChildren(...rows);
  }

  function showPose(pose) {
    details.hidden = !pose;
    if (!pose) return;
    details.querySelector("[data-pose-difficulty]").textContent = pose.difficulty || "";
    details.querySelector("[data-pose-side]").textContent = pose.asymmetric && pose.side_refers_to
      ? `Either side (the ${pose.side_refers_to})` : "";
    details.querySelector("[data-pose-description]").textContent = pose.description || "";
    const steps = (pose.instructions || []).map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    });
    details.querySelector("[data-pose-instructions]").replaceChildren(...steps);
  }

  function resetReading(text) {
    accuracyNumber.textContent = "—";
    accuracyMeter.value = 0;
    accuracyWrap.dataset.band = "none";
    delete accuracyWrap.dataset.accuracy;
    fillList(feedbackList, []);
    fillList(improvementsList, []);
    analysisState.textContent = text;
  }

  select.addEventListener("change", () => {
    const pose = poses.get(select.value);
    showPose(pose);
    showHint("");
    announce("");
    clearSkeleton(overlay);
    resetReading(!pose ? "Choose a pose." : camera.stream ? `Hold ${pose.name}…` : "Turn the camera on to begin.");
    if (pose && camera.stream) {
      startPractice();
      schedule(0);
    }
  });

  // --- the practice clock
  function startPractice() {
    if (startedAt !== null || !poses.get(select.value)) return;
    startedAt = Date.now();
    clock = setInterval(showElapsed, 1000);
    showElapsed();
    refreshSave();
  }

  function showElapsed() {
    const seconds = startedAt === null ? 0 : Math.floor((Date.now() - startedAt) / 1000);
    elapsedOutput.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function refreshSave() {
    saveButton.disabled = saving || startedAt === null;
  }

  // --- analysing pictures, one at a time
  function schedule(delay = interval) {
    clearTimeout(timer);
    if (!camera.stream || !poses.get(select.value)) return;
    timer = setTimeout(analyse, delay);
  }

  function asDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  async function analyse() {
    const pose = poses.get(select.value);
    if (analysing || !pose || !camera.stream) return;
    analysing = true;
    const begun = performance.now();
    try {
      const picture = await camera.grab();
      if (!picture) {
        schedule(200);
        return;
      }
      const image = await asDataUrl(picture.blob);
      const result = await apiRequest("POST", `${config.apiRoot}analyze/${encodeURIComponent(pose.slug)}`, { body: { image } });
      if (select.value !== pose.slug) return; // the choice changed while this one was analysed
      showResult(pose, result, picture);
    } catch (error) {
      if (select.value === pose.slug) showProblem(error);
    } finally {
      analysing = false;
      schedule(Math.max(interval - (performance.now() - begun), 0));
    }
  }

  function showResult(pose, result, size) {
    showHint("");
    announce("");
    root.dataset.lastError = "";
    drawSkeleton(overlay, result.keypoints, size, config);
    const accuracy = Number(result.accuracy);
    accuracyNumber.textContent = accuracy.toFixed(0);
    accuracyMeter.value = accuracy;
    accuracyWrap.dataset.accuracy = accuracy.toFixed(1);
    accuracyWrap.dataset.band = accuracy >= 85 ? "good" : accuracy >= 60 ? "fair" : "poor";
    fillList(feedbackList, result.feedback || []);
    fillList(improvementsList, result.improvements || []);
    const side = result.side ? ` (${result.side} side)` : "";
    analysisState.textContent = `${pose.name}${side}: ${result.joints_measured} of ${result.joints_total} joints measured.`;
    const record = held.get(pose.slug) ?? { name: pose.name, best: 0 };
    record.last = accuracy;
    if (accuracy >= record.best) {
      record.best = accuracy;
      record.feedback = result.feedback || [];
      record.improvements = result.improvements || [];
    }
    held.set(pose.slug, record);
    showHeld();
  }

  function showProblem(error) {
    clearSkeleton(overlay);
    root.dataset.lastError = error.code;
    if (HINTS[error.code]) {
      showHint(HINTS[error.code]);
      analysisState.textContent = "Waiting for a clear view of you…";
      return;
    }
    announce(error.message);
  }

  function showHeld() {
    const rows = [...held.values()].map((record) => {
      const row = document.createElement("tr");
      row.setAttribute("data-testid", "held-pose");
      const name = document.createElement("td");
      name.textContent = record.name;
      name.dataset.label = "Pose";
      const best = document.createElement("td");
      best.className = "table__number";
      best.textContent = `${record.best.toFixed(0)}%`;
      best.dataset.label = "Best";
      const last = document.createElement("td");
      last.className = "table__number";
      last.textContent = `${record.last.toFixed(0)}%`;
      last.dataset.label = "Last";
      row.append(name, best, last);
      return row;
    });
    if (rows.length) heldBody.replaceChildren(...rows);
    else heldBody.replaceChildren(heldBody.ownerDocument.importNode(emptyRow, true));
  }
  const emptyRow = heldBody.querySelector("[data-held-empty]").cloneNode(true);

  // --- saving the session
  saveButton.addEventListener("click", async () => {
    if (startedAt === null) return;
    saving = true;
    refreshSave();
    announce("");
    const minutes = Math.max((Date.now() - startedAt) / 60_000, MIN_DURATION_MINUTES);
    const body = {
      duration: Math.round(minutes * 10) / 10,
      poses: [...held.values()].map((record) => ({
        pose_name: record.name, accuracy: record.best, feedback: record.feedback, improvements: record.improvements,
      })),
    };
    try {
      const session = await apiRequest("POST", `${config.apiRoot}sessions`, { body });
      const poseCount = body.poses.length;
      saved.replaceChildren();
      const text = document.createElement("span");
      text.textContent = `Saved: ${body.duration} min, ${poseCount} pose${poseCount === 1 ? "" : "s"}. `;
      const link = document.createElement("a");
      link.href = config.dashboardUrl;
      link.textContent = "See your dashboard";
      link.setAttribute("data-testid", "saved-dashboard-link");
      saved.append(text, link);
      saved.hidden = false;
      saved.dataset.sessionId = String(session.id);
      announce("Practice session saved.", "success");
      // A new practice starts with the next picture.
      clearInterval(clock);
      startedAt = null;
      held = new Map();
      showHeld();
      showElapsed();
      if (camera.stream) startPractice();
    } catch (error) {
      announce(`The session was not saved: ${error.message}`);
    } finally {
      saving = false;
      refreshSave();
    }
  });

  resetReading("Choose a pose and turn the camera on.");
}

const practiceRoot = document.querySelector("[data-yoga-practice]");
if (practiceRoot) setUpPractice(practiceRoot);
