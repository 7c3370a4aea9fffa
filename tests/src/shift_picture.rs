//! The picture of a replayed shift (`make demo` writes it to `target/demo/shift.html`): one
//! lane per agent, the Genesys presence over the shift above the Teams presence the function
//! set, each change's lag, every skipped or failed event marked with its reason, what happened
//! outside the function (an event lost, Teams set by hand) and the reconciler's repair of it.
//! The axis is the events' own clock: a replayed shift (simulated clock), lags measured.
//!
//! One self-contained HTML page: inline SVG drawn here, a few lines of inline script (details
//! on hover, and a marker that the page rendered), a Content-Security-Policy that forbids
//! loading anything, and no URL at all. [`chromium`], [`dump_dom`] and [`screenshot`] drive
//! Debian's headless Chromium for the browser test and the README's screenshot.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A replayed shift.
#[derive(Clone, Debug)]
pub struct Shift {
    pub title: String,
    /// The clock time of the shift's start, in minutes after midnight (08:00 is 480).
    pub start_clock_minutes: i64,
    pub lanes: Vec<Lane>,
}

/// One agent.
#[derive(Clone, Debug)]
pub struct Lane {
    pub name: String,
    /// Whether the agent has a Teams user at all.
    pub has_teams_user: bool,
    /// The agent's events, in the order they were delivered.
    pub steps: Vec<Step>,
}

/// Who made a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An event delivered to the function.
    Event,
    /// A run of the reconciler.
    Reconciler,
    /// Something the function did not see: a Genesys change whose event was lost
    /// (`outcome` "lost"), Teams set by hand (`outcome` "by-hand"), or the agent's own Teams
    /// activity where we hold nothing (`outcome` "own", two-way).
    Outside,
    /// A Genesys write of the watcher (presence-watch, two-way) for a Teams activity.
    Watcher,
}

/// One event of the shift (or a change outside the function, or a repair) and what came of it.
#[derive(Clone, Debug)]
pub struct Step {
    pub origin: Origin,
    /// The Genesys change's time (the event's version), in milliseconds after the start.
    pub at_ms: i64,
    /// What happened in Genesys, as a person says it ("On Queue", "Meal (late, older)").
    pub label: String,
    /// The Genesys presence from this event on, when the event changes it.
    pub genesys: Option<String>,
    /// `applied`, `cleared`, `skipped` or `failed`; outside the function `lost` or `by-hand`.
    pub outcome: String,
    /// The outcome's reason, or the `errorType` of a failure.
    pub reason: String,
    /// What Teams shows after the event (`Busy/Busy`, `(cleared)`, …).
    pub teams: String,
    /// From the event's (first) delivery to Graph accepting the change.
    pub lag: Option<Duration>,
}

// ---------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------

const WIDTH: f64 = 1360.0;
const AXIS_LEFT: f64 = 150.0;
const AXIS_RIGHT: f64 = WIDTH - 24.0;
const TOP: f64 = 34.0;
const LANE: f64 = 106.0;
const ROW: f64 = 26.0;

/// The colour family of a presence, Genesys's or Teams's: what Teams shows for it with the
/// default mapping (README.md, Mapping).
fn family(presence: &str) -> &'static str {
    let key = presence
        .to_ascii_uppercase()
        .replace([' ', '_'], "")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    match key.as_str() {
        "AVAILABLE" => "available",
        "ONQUEUE" | "BUSY" | "MEETING" | "TRAINING" | "DONOTDISTURB" => "busy",
        "AWAY" | "BREAK" | "MEAL" | "IDLE" | "BERIGHTBACK" => "away",
        "OFFLINE" => "offline",
        _ => "other",
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1.6 s`, `23 ms`.
pub fn format_lag(lag: Duration) -> String {
    let ms = lag.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{} ms", ms.round() as u64)
    }
}

struct Scale {
    end_ms: i64,
    start_clock_minutes: i64,
}

impl Scale {
    fn x(&self, ms: i64) -> f64 {
        AXIS_LEFT
            + (AXIS_RIGHT - AXIS_LEFT) * (ms.clamp(0, self.end_ms) as f64 / self.end_ms as f64)
    }

    fn clock(&self, ms: i64) -> String {
        let minutes = self.start_clock_minutes + ms.div_euclid(60_000);
        format!(
            "{:02}:{:02}",
            minutes.div_euclid(60) % 24,
            minutes.rem_euclid(60)
        )
    }
}

/// One coloured bar of a row (`genesys` or `teams`), with its text when it fits.
struct Row {
    name: &'static str,
    y: f64,
}

fn bar(svg: &mut String, row: &Row, x0: f64, x1: f64, class: &str, text: &str, detail: &str) {
    let width = (x1 - x0).max(1.0);
    let y = row.y;
    let _ = write!(
        svg,
        r#"<g class="seg {row} {class}" data-detail="{detail}">"#,
        row = row.name,
        detail = escape(detail)
    );
    let _ = write!(
        svg,
        r#"<rect x="{x0:.1}" y="{y:.1}" width="{width:.1}" height="{ROW}" rx="3"/>"#
    );
    // About 6.5 px per character at 12 px.
    if width > 6.5 * text.chars().count() as f64 + 10.0 {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x0 + 6.0,
            y + 17.5,
            escape(text)
        );
    }
    svg.push_str("</g>");
}

fn lane(svg: &mut String, scale: &Scale, lane: &Lane, index: usize) {
    let y = TOP + 24.0 + LANE * index as f64;
    let genesys_y = y + 8.0;
    let teams_y = y + 8.0 + ROW + 6.0;
    let genesys_row = Row {
        name: "genesys",
        y: genesys_y,
    };
    let teams_row = Row {
        name: "teams",
        y: teams_y,
    };
    let marks_y = teams_y + ROW + 15.0;
    let _ = write!(
        svg,
        r#"<g class="lane" data-agent="{name}"><rect class="band" x="0" y="{y:.1}" width="{WIDTH}" height="{LANE}"/><text class="agent" x="12" y="{ny:.1}">{name}</text><text class="row-label" x="{lx:.1}" y="{gy:.1}">Genesys</text><text class="row-label" x="{lx:.1}" y="{ty:.1}">Teams</text>"#,
        name = escape(&lane.name),
        ny = y + 26.0,
        lx = AXIS_LEFT - 8.0,
        gy = genesys_y + 17.5,
        ty = teams_y + 17.5,
    );

    // Genesys: from each change of presence to the next.
    let changes: Vec<&Step> = lane.steps.iter().filter(|s| s.genesys.is_some()).collect();
    for (i, step) in changes.iter().enumerate() {
        let until = changes.get(i + 1).map_or(scale.end_ms, |next| next.at_ms);
        let presence = step.genesys.as_deref().unwrap_or_default();
        // Teams activity → Genesys change: the reverse direction's link.
        if step.origin == Origin::Watcher {
            let x = scale.x(step.at_ms);
            let _ = write!(
                svg,
                r#"<line class="link link-watch" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#,
                teams_y,
                genesys_y + ROW
            );
        }
        bar(
            svg,
            &genesys_row,
            scale.x(step.at_ms),
            scale.x(until),
            family(presence),
            presence,
            &format!(
                "{} · Genesys: {presence} from {}",
                lane.name,
                scale.clock(step.at_ms)
            ),
        );
    }

    // Teams: what the function set, from the change it followed (plus its lag).
    if !lane.has_teams_user {
        bar(
            svg,
            &teams_row,
            AXIS_LEFT,
            AXIS_RIGHT,
            "none",
            "no Teams user: left alone",
            &format!("{}: Genesys has no Teams id for this agent", lane.name),
        );
    } else {
        let sets: Vec<&Step> = lane
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.outcome.as_str(),
                    "applied" | "cleared" | "by-hand" | "own"
                )
            })
            .collect();
        let first = sets.first().map_or(scale.end_ms, |s| s.at_ms);
        bar(
            svg,
            &teams_row,
            AXIS_LEFT,
            scale.x(first),
            "unset",
            "not set yet",
            &format!(
                "{}: no preferred presence set by the function yet",
                lane.name
            ),
        );
        for (i, step) in sets.iter().enumerate() {
            let until = sets.get(i + 1).map_or(scale.end_ms, |next| next.at_ms);
            let availability = step.teams.split('/').next().unwrap_or_default();
            let (class, text) = match step.outcome.as_str() {
                "cleared" => ("offline".to_owned(), "cleared: own Teams status".to_owned()),
                "by-hand" => (
                    format!("{} hand", family(availability)),
                    format!("{availability} (by hand)"),
                ),
                "own" => (
                    format!("{} own", family(availability)),
                    format!(
                        "{availability} (own: {})",
                        step.teams.split('/').nth(1).unwrap_or_default()
                    ),
                ),
                _ => (family(availability).to_owned(), availability.to_owned()),
            };
            let lag = step.lag.map(format_lag).unwrap_or_else(|| "?".into());
            let detail = if step.outcome == "own" {
                format!(
                    "{} · Teams: {} from {}, the agent's own ({}): nothing of ours in Teams",
                    lane.name,
                    step.teams,
                    scale.clock(step.at_ms),
                    step.label
                )
            } else {
                format!(
                    "{} · Teams: {} at {} (+{lag}) after “{}”, {}/{}",
                    lane.name,
                    step.teams,
                    scale.clock(step.at_ms),
                    step.label,
                    step.outcome,
                    step.reason
                )
            };
            bar(
                svg,
                &teams_row,
                scale.x(step.at_ms),
                scale.x(until),
                &class,
                &text,
                &detail,
            );
            // Genesys change (or the reconciler) → Teams change; none for a change by hand.
            if step.origin == Origin::Outside {
                continue;
            }
            let x = scale.x(step.at_ms);
            let _ = write!(
                svg,
                r#"<line class="link" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#,
                genesys_y + ROW,
                teams_y
            );
        }
    }

    // One mark per event: the lag of a change, the reason of a skip or a failure. Marks
    // that would overlap go one row down.
    let mut rows_end = [f64::MIN; 2];
    for step in &lane.steps {
        let x = scale.x(step.at_ms);
        let (class, text) = match (step.origin, step.outcome.as_str()) {
            (Origin::Outside, _) => ("mark-outside", step.label.clone()),
            (Origin::Reconciler, _) => ("mark-set", format!("reconciler: {}", step.reason)),
            (Origin::Watcher, _) => ("mark-watch", step.label.clone()),
            (_, "applied" | "cleared") => (
                "mark-set",
                format!(
                    "{}{}",
                    step.lag.map(format_lag).unwrap_or_default(),
                    if step.reason == "reconciled" {
                        " (retry)"
                    } else {
                        ""
                    }
                ),
            ),
            (_, "failed") => ("mark-failed", format!("{} · {}", step.reason, step.label)),
            _ => (
                "mark-skipped",
                format!("{} · {}", step.reason, step.label.replace(['(', ')'], "")),
            ),
        };
        let width = 6.6 * text.chars().count() as f64 + 18.0;
        let row = rows_end.iter().position(|end| x - 6.0 > *end).unwrap_or(1);
        rows_end[row] = x + width;
        let my = marks_y + 14.0 * row as f64;
        let detail = format!(
            "{} · {} at {}: {}/{} · Teams then: {}{}",
            lane.name,
            step.label,
            scale.clock(step.at_ms),
            step.outcome,
            step.reason,
            step.teams,
            step.lag
                .map(|l| format!(" · lag {}", format_lag(l)))
                .unwrap_or_default()
        );
        let _ = write!(
            svg,
            r#"<g class="mark {class}" data-detail="{}">"#,
            escape(&detail)
        );
        match class {
            "mark-set" => {
                let _ = write!(svg, r#"<path d="M{:.1} {:.1} l5 8 h-10 z"/>"#, x, my - 8.0);
            }
            "mark-watch" => {
                let _ = write!(svg, r#"<path d="M{:.1} {:.1} l5 -8 h-10 z"/>"#, x, my);
            }
            "mark-outside" => {
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="8" height="8"/>"#,
                    x - 4.0,
                    my - 8.0
                );
            }
            "mark-failed" => {
                let _ = write!(
                    svg,
                    r#"<path d="M{a:.1} {b:.1} l8 8 M{c:.1} {b:.1} l-8 8"/>"#,
                    a = x - 4.0,
                    b = my - 8.0,
                    c = x + 4.0
                );
            }
            _ => {
                let _ = write!(svg, r#"<circle cx="{x:.1}" cy="{:.1}" r="4"/>"#, my - 4.0);
            }
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text></g>"#,
            x + 8.0,
            my,
            escape(&text)
        );
    }
    svg.push_str("</g>");
}

/// The page.
pub fn render(shift: &Shift) -> String {
    let last = shift
        .lanes
        .iter()
        .flat_map(|l| l.steps.iter().map(|s| s.at_ms))
        .max()
        .unwrap_or(0);
    // The shift to the next ten minutes, with room after the last event.
    let end_ms = ((last + 5 * 60_000) / 600_000 + 1) * 600_000;
    let scale = Scale {
        end_ms,
        start_clock_minutes: shift.start_clock_minutes,
    };
    let height = TOP + 24.0 + LANE * shift.lanes.len() as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="shift" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="{}">"#,
        escape(&shift.title)
    );
    // The time axis: a tick every ten minutes.
    let mut t = 0;
    while t <= end_ms {
        let x = scale.x(t);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}">{}</text>"#,
            TOP + 10.0,
            height - 4.0,
            TOP + 2.0,
            scale.clock(t)
        );
        t += 600_000;
    }
    for (i, l) in shift.lanes.iter().enumerate() {
        lane(&mut svg, &scale, l, i);
    }
    svg.push_str("</svg>");

    let all: Vec<&Step> = shift.lanes.iter().flat_map(|l| l.steps.iter()).collect();
    let steps: Vec<&Step> = all
        .iter()
        .copied()
        .filter(|s| s.origin == Origin::Event)
        .collect();
    let repaired = all
        .iter()
        .filter(|s| s.origin == Origin::Reconciler)
        .count();
    let outside = all.iter().filter(|s| s.origin == Origin::Outside).count();
    let watcher = all.iter().filter(|s| s.origin == Origin::Watcher).count();
    let count = |outcome: &str| steps.iter().filter(|s| s.outcome == outcome).count();
    let mut lags: Vec<Duration> = steps.iter().filter_map(|s| s.lag).collect();
    lags.sort();
    let lag_summary = match (lags.get(lags.len() / 2), lags.last()) {
        (Some(median), Some(max)) => format!(
            " · lag from delivery to Teams: median {}, max {}",
            format_lag(*median),
            format_lag(*max)
        ),
        _ => String::new(),
    };
    let summary = format!(
        "{} agents · {} events: {} applied, {} cleared, {} skipped, {} failed{lag_summary} · outside the function: {outside}, repaired by the reconciler: {repaired}, set in Genesys by the watcher: {watcher}",
        shift.lanes.len(),
        steps.len(),
        count("applied"),
        count("cleared"),
        count("skipped"),
        count("failed"),
    );

    format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>
  body {{ font: 13px/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 16px 20px; color: #242424; background: #fff; }}
  h1 {{ font-size: 19px; margin: 0 0 2px; }}
  .summary {{ color: #555; margin: 0 0 8px; }}
  .legend {{ display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; margin: 0 0 4px; color: #333; }}
  .legend span {{ display: inline-flex; align-items: center; gap: 5px; }}
  .sw {{ width: 22px; height: 12px; border-radius: 2px; display: inline-block; }}
  #detail {{ min-height: 18px; color: #333; margin: 2px 0 0; font-weight: 600; }}
  svg text {{ font-size: 12px; }}
  .band {{ fill: #fafafa; }}
  .lane:nth-of-type(even) .band {{ fill: #f2f4f7; }}
  .agent {{ font-size: 15px !important; font-weight: 700; fill: #111; }}
  .row-label {{ text-anchor: end; fill: #666; }}
  .tick {{ text-anchor: middle; fill: #555; }}
  .grid {{ stroke: #dde1e6; stroke-width: 1; }}
  .seg rect {{ stroke: #fff; stroke-width: 1; }}
  .seg text {{ fill: #1b1b1b; }}
  .available rect, .sw.available {{ fill: #92c353; background: #92c353; }}
  .busy rect, .sw.busy {{ fill: #c4314b; background: #c4314b; }}
  .busy text {{ fill: #fff; }}
  .away rect, .sw.away {{ fill: #fcd116; background: #fcd116; }}
  .offline rect, .sw.offline {{ fill: #c8c8c8; background: #c8c8c8; }}
  .other rect {{ fill: #8a8886; }}
  .unset rect, .sw.unset {{ fill: #fff; background: #fff; stroke: #b0b0b0; stroke-dasharray: 4 3; border: 1px dashed #b0b0b0; }}
  .unset text {{ fill: #888; }}
  .none rect {{ fill: #eee; stroke: #bbb; stroke-dasharray: 2 3; }}
  .none text {{ fill: #777; font-style: italic; }}
  .link {{ stroke: #444; stroke-width: 1.5; stroke-dasharray: 2 2; }}
  .mark text {{ font-size: 11.5px; }}
  .mark-set path {{ fill: #237b4b; }}
  .mark-set text {{ fill: #237b4b; }}
  .mark-skipped circle {{ fill: #fff; stroke: #6b6b6b; stroke-width: 1.5; }}
  .mark-skipped text {{ fill: #555; }}
  .mark-failed path {{ stroke: #c50f1f; stroke-width: 2.5; }}
  .mark-outside rect {{ fill: #fff; stroke: #8a5a00; stroke-width: 1.5; }}
  .mark-outside text {{ fill: #8a5a00; font-style: italic; }}
  .mark-watch path {{ fill: #1f5fa8; }}
  .mark-watch text {{ fill: #1f5fa8; }}
  .link-watch {{ stroke: #1f5fa8; }}
  .own rect {{ stroke: #1f5fa8 !important; stroke-width: 2 !important; stroke-dasharray: 1 3; }}
  .hand rect {{ stroke: #8a5a00 !important; stroke-width: 2 !important; stroke-dasharray: 5 3; }}
  .clock {{ color: #555; margin: 0 0 6px; font-style: italic; }}
  .mark-failed text {{ fill: #c50f1f; font-weight: 700; }}
  .hover rect, .hover path, .hover circle {{ filter: brightness(0.85); }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="summary">{summary}</p>
<p class="clock">Simulated clock: the shift's events were replayed in a few seconds at the times they carry, so the axis is theirs; the lags are measured (from an event's first delivery to Graph accepting the change).</p>
<div class="legend">
  <span><i class="sw available"></i>Available</span>
  <span><i class="sw busy"></i>Busy (On Queue, Meeting, Training)</span>
  <span><i class="sw away"></i>Away (Break, Meal, Idle)</span>
  <span><i class="sw offline"></i>Offline / cleared (Teams shows the agent's own status)</span>
  <span><i class="sw unset"></i>not set</span>
  <span><svg width="12" height="10"><path d="M6 1 l5 8 h-10 z" fill="#237b4b"/></svg>Teams set (lag from delivery)</span>
  <span><svg width="12" height="10"><circle cx="6" cy="5" r="4" fill="#fff" stroke="#6b6b6b" stroke-width="1.5"/></svg>skipped (reason)</span>
  <span><svg width="12" height="10"><path d="M2 1 l8 8 M10 1 l-8 8" stroke="#c50f1f" stroke-width="2.5"/></svg>failed (errorType)</span>
  <span><svg width="12" height="10"><rect x="2" y="1" width="8" height="8" fill="#fff" stroke="#8a5a00" stroke-width="1.5"/></svg>outside the function (event lost, Teams by hand, the agent's own Teams activity)</span>
  <span><svg width="12" height="10"><path d="M6 9 l5 -8 h-10 z" fill="#1f5fa8"/></svg>Genesys set by the watcher (two-way: a Teams call or meeting)</span>
</div>
<p id="detail">Point at a bar or a mark for its details.</p>
{svg}
<script>
  "use strict";
  window.addEventListener("error", function (e) {{
    document.documentElement.setAttribute("data-script-error", String(e.message));
  }});
  (function () {{
    var detail = document.getElementById("detail");
    var items = document.querySelectorAll("[data-detail]");
    items.forEach(function (item) {{
      item.addEventListener("mouseenter", function () {{
        item.classList.add("hover");
        detail.textContent = item.getAttribute("data-detail");
      }});
      item.addEventListener("mouseleave", function () {{ item.classList.remove("hover"); }});
    }});
    // Rendered: every lane drawn with both of its rows.
    var lanes = Array.prototype.filter.call(document.querySelectorAll("g.lane"), function (lane) {{
      return lane.querySelector("g.seg.genesys") !== null
        && lane.querySelector("g.seg.teams") !== null
        && lane.getBBox().height > 0;
    }});
    document.body.setAttribute("data-rendered", String(lanes.length));
    document.body.setAttribute("data-agents", lanes.map(function (l) {{ return l.getAttribute("data-agent"); }}).join("|"));
  }})();
</script>
</body>
</html>
"##,
        title = escape(&shift.title),
    )
}

// ---------------------------------------------------------------------------------------
// Headless Chromium
// ---------------------------------------------------------------------------------------

/// Debian's Chromium: `$CHROMIUM`, else `chromium` (or `chromium-browser`) on the `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on a local page with everything that could reach the network off,
/// a fresh profile, and a time limit; returns its stdout.
fn run_chromium(page: &Path, extra: &[String]) -> Result<String, String> {
    let binary = chromium().ok_or("chromium is not installed")?;
    let profile = std::env::temp_dir().join(format!("shift-chromium-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
    let page = page
        .canonicalize()
        .map_err(|e| format!("{}: {e}", page.display()))?;
    let mut command = Command::new(&binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&profile);
            return Err("chromium did not finish within 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&profile);
    if !status.success() {
        return Err(format!(
            "chromium exited with {status}: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The page's DOM after its scripts ran.
pub fn dump_dom(page: &Path) -> Result<String, String> {
    run_chromium(page, &["--dump-dom".to_owned()])
}

/// A PNG of the page in a 1400 × 900 window.
pub fn screenshot(page: &Path, png: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(png);
    run_chromium(
        page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,900".to_owned(),
        ],
    )?;
    if png.is_file() {
        Ok(())
    } else {
        Err(format!("chromium wrote no {}", png.display()))
    }
}

/// Where `make demo` writes the picture: `$DEMO_OUT`, else `<target>/demo`.
pub fn output_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DEMO_OUT") {
        return PathBuf::from(dir);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::moto::repo_root().join("target"))
        .join("demo")
}
