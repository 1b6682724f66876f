// The robot pages: live status badges on the robot list, and the robot console (connect, live
// joint state, commands and their log). Talks to the REST API with the session cookie and listens
// on the user event socket; on any other page it does nothing.

import { announcer, apiRequest, readJson, showLiveStatus, subscribeToEvents } from "./platform.js";

const FINAL_STATUSES = new Set(["completed", "failed", "timed_out"]);

const labels = readJson("robot-labels") ?? { status: {}, command: {}, commandStatus: {} };

// --- shared page pieces -----------------------------------------------------------------------
function formatTime(value) {
  const date = value ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
}

function showRobotStatus(robotId, status) {
  if (!status) return;
  for (const badge of document.querySelectorAll(`[data-robot-status="${robotId}"]`)) {
    badge.className = `badge badge--${status}`;
    badge.textContent = labels.status[status] ?? status;
  }
}

function showRobotSeen(robotId, at) {
  if (!at) return;
  for (const time of document.querySelectorAll(`[data-robot-seen="${robotId}"]`)) {
    time.dateTime = at;
    time.textContent = formatTime(at);
  }
}

const ROBOT_EVENTS = new Set(["robot_connected", "robot_disconnected", "robot_status_update"]);

// --- robot list -------------------------------------------------------------------------------
function setUpRobotList(table) {
  const robotIds = new Set([...table.querySelectorAll("[data-robot-id]")].map((row) => Number(row.dataset.robotId)));
  subscribeToEvents(table.dataset.eventsSocket, {
    batchTelemetry: true,
    onStatus: showLiveStatus,
    onEvent(event) {
      const robotId = Number(event.data.robot_id);
      if (!ROBOT_EVENTS.has(event.type) || !robotIds.has(robotId)) return;
      showRobotStatus(robotId, event.data.status);
      showRobotSeen(robotId, event.data.at ?? event.at);
    },
  });
}

// --- robot console ----------------------------------------------------------------------------
function setUpConsole(root) {
  const config = readJson("robot-console-config");
  const { robotId, apiRoot, organizationId } = config;
  const api = (method, path, body) => apiRequest(method, `${apiRoot}${path}`, { body, organizationId });

  const feedback = root.querySelector("#console-feedback");
  const connectButton = root.querySelector("[data-connect]");
  const disconnectButton = root.querySelector("[data-disconnect]");
  const connectionStatus = root.querySelector("[data-connection-status]");
  const queueBox = root.querySelector("[data-queue]");
  const commandFields = root.querySelector("[data-needs-connection]");
  const estopButton = root.querySelector("[data-estop]");
  const batteryOutput = root.querySelector("[data-battery]");
  const modeOutput = root.querySelector("[data-mode]");
  const logRows = root.querySelector("[data-command-rows]");
  const canCommand = Boolean(connectButton);

  const jointBars = new Map(config.joints.map((joint) => [joint.name, {
    ...joint,
    track: root.querySelector(`[data-joint-bar="${CSS.escape(joint.name)}"]`),
    value: root.querySelector(`[data-joint-value="${CSS.escape(joint.name)}"]`),
  }]));
  const latestJoints = {};
  let connectionId = null;

  // Feedback: errors stay until the next action; confirmations fade.
  const announce = announcer(feedback);

  // --- live state: coalesced to one paint per frame, since updates come up to ~10/s.
  let pendingState = null;
  function queueState(state) {
    if (!state) return;
    pendingState = { ...pendingState, ...state, joints: { ...pendingState?.joints, ...state.joints } };
    if (pendingState.scheduled) return;
    pendingState.scheduled = true;
    requestAnimationFrame(() => {
      const state = pendingState;
      pendingState = null;
      paintState(state);
    });
  }

  function paintState(state) {
    for (const [name, value] of Object.entries(state.joints ?? {})) {
      const bar = jointBars.get(name);
      if (!bar?.track || typeof value !== "number") continue;
      latestJoints[name] = value;
      const span = bar.max - bar.min;
      const fraction = span > 0 ? (value - bar.min) / span : 0;
      bar.track.style.setProperty("--position", `${(Math.min(Math.max(fraction, 0), 1) * 100).toFixed(1)}%`);
      bar.track.setAttribute("aria-valuenow", value.toFixed(3));
      bar.track.classList.toggle("is-out-of-range", fraction < 0 || fraction > 1);
      if (bar.value) bar.value.textContent = value.toFixed(3);
    }
    if ("battery" in state && batteryOutput) {
      batteryOutput.textContent = typeof state.battery === "number" ? `${Math.round(state.battery * 100)}%` : "—";
    }
    if ("mode" in state && modeOutput) modeOutput.textContent = state.mode || "—";
  }

  // --- connection
  function useConnection(id) {
    connectionId = id;
    root.dataset.connectionId = id ?? "";
    if (!canCommand) return;
    connectionStatus.textContent = id ? `Connected (connection ${id}).` : "Not connected.";
    connectButton.hidden = Boolean(id);
    disconnectButton.hidden = !id;
    commandFields.disabled = !id;
  }

  async function refreshState() {
    if (!connectionId) return;
    try {
      const snapshot = await api("GET", `connections/${connectionId}/state`);
      showRobotStatus(robotId, snapshot.robot_status);
      showRobotSeen(robotId, snapshot.last_seen_at);
      queueState(snapshot.state);
    } catch (error) {
      if (error.status === 404) useConnection(null);
    }
  }

  async function openConnection() {
    const connection = await api("POST", "connect", { robot_id: robotId });
    useConnection(connection.id);
    refreshState();
    return connection;
  }

  async function resumeConnection() {
    try {
      const page = await api("GET", "connections/");
      const connections = Array.isArray(page) ? page : page?.results ?? [];
      const mine = connections.find((c) => Number(c.robot?.id) === robotId && c.status === "open");
      if (mine && !connectionId) {
        useConnection(mine.id);
        refreshState();
      }
    } catch {
      // Not fatal: the user can connect by hand.
    }
  }

  async function withButton(button, action) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await action();
    } catch (error) {
      if (error.code === "connection_closed") useConnection(null);
      announce(error.message);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  // --- commands
  async function sendCommand(type, params, { queue } = {}) {
    const command = await api("POST", "commands", {
      connection_id: connectionId, type, params, queue: queue ?? Boolean(queueBox?.checked),
    });
    showCommand(command, { isNew: true });
    return command;
  }

  function commandParams(form) {
    const type = form.dataset.command;
    if (type === "move_joints") {
      const positions = {};
      for (const slider of form.querySelectorAll("[data-joint-target]")) positions[slider.dataset.jointTarget] = Number(slider.value);
      const duration = form.elements.duration?.value;
      return duration ? { positions, duration: Number(duration) } : { positions };
    }
    if (type === "set_mode") return { mode: form.elements.mode.value };
    if (type === "play_skill") return { skill_id: Number(form.elements.skill_id.value) };
    if (type === "replay_episode") return { episode_id: Number(form.elements.episode_id.value) };
    return {};
  }

  // --- command log: one row per command, newest first, updated in place by events.
  const commandRows = new Map();

  function cell(label) {
    const td = document.createElement("td");
    td.dataset.label = label;
    return td;
  }

  function commandRow(id) {
    let row = commandRows.get(id);
    if (row) return row;
    row = document.createElement("tr");
    row.dataset.commandId = String(id);
    row.setAttribute("data-testid", "command-row");
    const sent = cell("Sent");
    sent.append(document.createElement("time"));
    const type = cell("Command");
    const status = cell("Status");
    const badge = document.createElement("span");
    badge.dataset.commandStatus = "";
    status.append(badge);
    const progressCell = cell("Progress");
    const progress = document.createElement("div");
    progress.className = "progress";
    progress.setAttribute("role", "progressbar");
    progress.setAttribute("aria-valuemin", "0");
    progress.setAttribute("aria-valuemax", "100");
    progress.setAttribute("aria-label", `Progress of command ${id}`);
    const bar = document.createElement("div");
    bar.className = "progress__bar";
    progress.append(bar);
    progressCell.append(progress);
    const outcome = cell("Result");
    outcome.className = "command-log__outcome";
    row.append(sent, type, status, progressCell, outcome);
    commandRows.set(id, row);
    return row;
  }

  function showCommand(command, { isNew = false, append = false } = {}) {
    const id = Number(command.id);
    if (!id) return;
    const existed = commandRows.has(id);
    const row = commandRow(id);
    const [sent, type, status, progressCell, outcome] = row.children;
    if (command.created_at && !sent.firstChild.dateTime) {
      sent.firstChild.dateTime = command.created_at;
      sent.firstChild.textContent = formatTime(command.created_at);
    }
    if (command.type) type.textContent = labels.command[command.type] ?? command.type;
    if (command.status) {
      row.dataset.status = command.status;
      const badge = status.firstChild;
      const tone = command.status === "completed" ? "success"
        : FINAL_STATUSES.has(command.status) ? "danger" : command.status === "pending" ? "warning" : "info";
      badge.className = `badge badge--${tone}`;
      badge.textContent = labels.commandStatus[command.status] ?? command.status;
    }
    const progress = progressCell.firstChild;
    let fraction = typeof command.progress === "number" ? command.progress : null;
    if (command.status === "completed") fraction = 1;
    if (fraction !== null) {
      const percent = Math.round(Math.min(Math.max(fraction, 0), 1) * 100);
      progress.style.setProperty("--progress", `${percent}%`);
      progress.setAttribute("aria-valuenow", String(percent));
    }
    progress.classList.toggle("progress--success", command.status === "completed");
    progress.classList.toggle("progress--danger", command.status === "failed" || command.status === "timed_out");
    if (command.error) {
      outcome.textContent = command.error;
      outcome.classList.add("is-error");
    } else if (command.result !== undefined && command.result !== null) {
      outcome.textContent = typeof command.result === "string" ? command.result : JSON.stringify(command.result);
      outcome.classList.remove("is-error");
    }
    if (!existed) {
      logRows.querySelector("[data-command-empty]")?.remove();
      if (append) logRows.append(row);
      else logRows.prepend(row);
    }
    if (isNew) row.classList.add("is-new");
  }

  async function loadCommandLog() {
    try {
      const page = await api("GET", `commands?robot=${robotId}`);
      for (const command of page?.results ?? []) {
        // Rows already here came from events, which are newer than this list.
        if (!commandRows.has(Number(command.id))) showCommand(command, { append: true });
      }
    } catch (error) {
      announce(`The command log could not be loaded: ${error.message}`);
    }
  }

  // --- events
  function onEvent(event) {
    const data = event.data;
    if (Number(data.robot_id) !== robotId) return;
    switch (event.type) {
      case "robot_connected":
      case "robot_disconnected":
        showRobotStatus(robotId, data.status);
        showRobotSeen(robotId, event.at);
        break;
      case "robot_status_update":
        showRobotStatus(robotId, data.status);
        showRobotSeen(robotId, data.at ?? event.at);
        queueState(data.state);
        break;
      case "command_update":
        showCommand({ id: data.command_id, type: data.type, status: data.status, progress: data.progress, created_at: event.at });
        break;
      case "command_completed":
        showCommand({ id: data.command_id, type: data.type, status: data.status, result: data.result, created_at: event.at });
        break;
      case "command_failed":
        showCommand({ id: data.command_id, type: data.type, status: data.status, error: data.error || "Failed.", created_at: event.at });
        break;
      default:
    }
  }

  // --- wiring
  if (canCommand) {
    connectButton.addEventListener("click", () => withButton(connectButton, async () => {
      announce("");
      await openConnection();
      announce("Connected.", "success");
    }));
    disconnectButton.addEventListener("click", () => withButton(disconnectButton, async () => {
      announce("");
      try {
        await api("DELETE", `connections/${connectionId}`);
      } catch (error) {
        if (error.status !== 404) throw error; // already closed elsewhere: nothing left to close
      }
      useConnection(null);
      announce("Disconnected.", "success");
    }));

    for (const form of root.querySelectorAll("form[data-command]")) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const button = event.submitter ?? form.querySelector("button[type=submit]");
        withButton(button, async () => {
          announce("");
          const command = await sendCommand(form.dataset.command, commandParams(form));
          announce(`${labels.command[command.type] ?? command.type}: command ${command.id} accepted.`, "success");
        });
      });
    }

    for (const slider of root.querySelectorAll("[data-joint-target]")) {
      const output = root.querySelector(`[data-joint-target-value="${CSS.escape(slider.dataset.jointTarget)}"]`);
      slider.addEventListener("input", () => { if (output) output.textContent = Number(slider.value).toFixed(3); });
    }
    root.querySelector("[data-sliders-from-state]")?.addEventListener("click", () => {
      for (const slider of root.querySelectorAll("[data-joint-target]")) {
        const value = latestJoints[slider.dataset.jointTarget];
        if (typeof value !== "number") continue;
        slider.value = String(value);
        slider.dispatchEvent(new Event("input"));
      }
    });

    // The emergency stop never waits for the user to connect first, and is queued if the robot is offline.
    estopButton?.addEventListener("click", () => withButton(estopButton, async () => {
      announce("");
      if (!connectionId) await openConnection();
      await sendCommand("emergency_stop", {}, { queue: true });
      announce("Emergency stop sent.", "warning");
    }));

    resumeConnection();
  }

  subscribeToEvents(config.eventsSocketPath, {
    batchTelemetry: true,
    onEvent,
    onStatus: showLiveStatus,
    onReopen() {
      // Events were missed while the socket was down: catch up.
      loadCommandLog();
      refreshState();
    },
  });
  loadCommandLog();
}

const consoleRoot = document.querySelector("[data-robot-console]");
if (consoleRoot) setUpConsole(consoleRoot);
const robotList = document.querySelector("[data-robots-list]");
if (robotList) setUpRobotList(robotList);
