// The practice dashboard: stat tiles, minutes per day (bars) and the accuracy trend (a line) drawn as
// inline SVG from GET /api/v1/yoga/sessions/stats?days=N, the per-pose table from
// GET /api/v1/yoga/analytics/summary and the recent sessions from GET /api/v1/yoga/sessions.

import { announcer, apiRequest, readJson } from "./platform.js";

const SVG = "http://www.w3.org/2000/svg";
let WIDTH = 600; // set to the chart's width in CSS pixels before drawing, so text keeps its size
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 26, left: 36 };
const RECENT_SESSIONS = 10;

function svgElement(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
const formatDay = (iso) => dayFormat.format(new Date(`${iso}T00:00:00Z`));
const niceMax = (value) => {
  if (value <= 0) return 10;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
};

// The frame of a chart: horizontal grid lines with their labels, and a few dates along the bottom.
function frame(svg, history, yMax, unit) {
  WIDTH = Math.max(Math.round(svg.getBoundingClientRect().width) || 600, 260);
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const title = svg.querySelector("title");
  svg.replaceChildren(title);
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const grid = svgElement("g", { class: "yoga-chart__grid", "aria-hidden": "true" });
  for (let k = 0; k <= 4; k += 1) {
    const y = PAD.top + plotHeight * (1 - k / 4);
    grid.append(svgElement("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y }));
    grid.append(svgElement("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end" },
      `${Math.round((yMax * k) / 4)}${k === 4 ? unit : ""}`));
  }
  const step = (WIDTH - PAD.left - PAD.right) / history.length;
  const labelEvery = Math.max(1, Math.ceil(history.length / Math.max(2, Math.min(6, Math.floor(WIDTH / 70)))));
  history.forEach((day, index) => {
    if ((history.length - 1 - index) % labelEvery) return;
    grid.append(svgElement("text", { x: PAD.left + step * (index + 0.5), y: HEIGHT - 8, "text-anchor": "middle" },
      formatDay(day.date)));
  });
  svg.append(grid);
  return { step, y: (value) => PAD.top + plotHeight * (1 - value / yMax) };
}

function drawMinutes(svg, history) {
  const yMax = niceMax(Math.max(...history.map((day) => day.minutes), 0));
  const { step, y } = frame(svg, history, yMax, " min");
  const bars = svgElement("g", { class: "yoga-chart__bars" });
  let count = 0;
  history.forEach((day, index) => {
    if (!day.minutes) return;
    const top = y(day.minutes);
    const bar = svgElement("rect", {
      x: PAD.left + step * index + step * 0.15, y: top, width: step * 0.7, height: HEIGHT - PAD.bottom - top, rx: 2,
    });
    bar.append(svgElement("title", {}, `${formatDay(day.date)}: ${day.minutes} min, ${day.sessions} session${day.sessions === 1 ? "" : "s"}`));
    bars.append(bar);
    count += 1;
  });
  svg.append(bars);
  svg.dataset.bars = String(count);
  return count;
}

function drawAccuracy(svg, history) {
  const { step, y } = frame(svg, history, 100, "%");
  const days = history.map((day, index) => ({ ...day, index })).filter((day) => day.avg_accuracy !== null);
  const x = (day) => PAD.left + step * (day.index + 0.5);
  if (days.length > 1) {
    svg.append(svgElement("polyline", {
      class: "yoga-chart__line", points: days.map((day) => `${x(day)},${y(day.avg_accuracy)}`).join(" "),
    }));
  }
  const dots = svgElement("g", { class: "yoga-chart__dots" });
  for (const day of days) {
    const dot = svgElement("circle", { cx: x(day), cy: y(day.avg_accuracy), r: 4 });
    dot.append(svgElement("title", {}, `${formatDay(day.date)}: ${day.avg_accuracy}%`));
    dots.append(dot);
  }
  svg.append(dots);
  svg.dataset.points = String(days.length);
  return days.length;
}

function emptyRow(body, columns, text) {
  const row = document.createElement("tr");
  const cell = document.createElement("td");
  cell.colSpan = columns;
  cell.className = "muted";
  cell.textContent = text;
  row.append(cell);
  body.replaceChildren(row);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const [text, numeric, label] of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "table__number";
    if (label) td.dataset.label = label;
    tr.append(td);
  }
  return tr;
}

const percent = (value) => (value === null || value === undefined ? "—" : `${Number(value).toFixed(1)}%`);

async function setUpDashboard(root) {
  const config = readJson("yoga-dashboard-config");
  const announce = announcer(root.querySelector("#dashboard-feedback"));
  const [stats, summary, sessions] = await Promise.allSettled([
    apiRequest("GET", `${config.apiRoot}sessions/stats?days=${config.days}`),
    apiRequest("GET", `${config.apiRoot}analytics/summary`),
    apiRequest("GET", `${config.apiRoot}sessions?ordering=-started_at`),
  ]);
  const failed = [stats, summary, sessions].find((result) => result.status === "rejected");
  if (failed) announce(`Part of the dashboard could not load: ${failed.reason.message}`);

  if (stats.status === "fulfilled") {
    const figures = stats.value;
    for (const tile of root.querySelectorAll("[data-stat]")) {
      const value = figures[tile.dataset.stat];
      if (value === undefined) continue;
      tile.textContent = tile.dataset.stat === "total_avg_accuracy" ? percent(value) : String(value);
    }
    const history = figures.history ?? [];
    const minutes = root.querySelector("[data-chart=minutes]");
    const accuracy = root.querySelector("[data-chart=accuracy]");
    const bars = drawMinutes(minutes, history);
    const points = drawAccuracy(accuracy, history);
    const total = history.reduce((sum, day) => sum + day.minutes, 0);
    root.querySelector("[data-chart-caption=minutes]").textContent = bars
      ? `${Math.round(total * 10) / 10} min on ${bars} day${bars === 1 ? "" : "s"} of the last ${history.length}.`
      : `No practice in the last ${history.length} days.`;
    root.querySelector("[data-chart-caption=accuracy]").textContent = points
      ? `Average accuracy on the ${points} day${points === 1 ? "" : "s"} with practice.`
      : "No accuracy measured yet.";
    minutes.dataset.drawn = "true";
    accuracy.dataset.drawn = "true";
    let resizeTimer = null;
    let drawnWidth = minutes.getBoundingClientRect().width;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        const width = minutes.getBoundingClientRect().width;
        if (Math.abs(width - drawnWidth) < 8) return;
        drawnWidth = width;
        drawMinutes(minutes, history);
        drawAccuracy(accuracy, history);
      }, 150);
    });
  }

  const poseRows = root.querySelector("[data-pose-rows]");
  if (summary.status === "fulfilled") {
    const poses = summary.value.poses ?? [];
    if (poses.length) {
      poseRows.replaceChildren(...poses.map((pose) => {
        const tr = row([[pose.pose_name, false, "Pose"], [String(pose.times), true, "Times held"],
          [percent(pose.avg_accuracy), true, "Average"], [percent(pose.best_accuracy), true, "Best"],
          [pose.last_practised ? formatDay(pose.last_practised) : "—", false, "Last practised"]]);
        tr.setAttribute("data-testid", "pose-row");
        return tr;
      }));
    } else {
      emptyRow(poseRows, 5, "No poses held yet.");
    }
    const most = root.querySelector("[data-most-practised]");
    if (summary.value.most_practised_pose) {
      most.textContent = `Most practised: ${summary.value.most_practised_pose}.`;
      most.hidden = false;
    }
  } else {
    emptyRow(poseRows, 5, "Could not load.");
  }

  const sessionRows = root.querySelector("[data-session-rows]");
  if (sessions.status === "fulfilled") {
    const list = (Array.isArray(sessions.value) ? sessions.value : sessions.value.results ?? []).slice(0, RECENT_SESSIONS);
    if (list.length) {
      sessionRows.replaceChildren(...list.map((session) => {
        const tr = row([[formatDay(session.date), false, "Date"],
          [String(Math.round(session.duration * 10) / 10), true, "Minutes"], [percent(session.avg_accuracy), true, "Accuracy"],
          [session.poses.map((pose) => pose.pose_name).join(", ") || "—", false, "Poses"]]);
        tr.setAttribute("data-testid", "session-row");
        return tr;
      }));
    } else {
      emptyRow(sessionRows, 4, "No sessions yet: practise and save one.");
    }
  } else {
    emptyRow(sessionRows, 4, "Could not load.");
  }
  root.dataset.loaded = "true";
}

const dashboardRoot = document.querySelector("[data-yoga-dashboard]");
if (dashboardRoot) setUpDashboard(dashboardRoot);
