//! The shift picture `make demo` draws (`presence_sync_tests::shift_picture`), in a real
//! browser: Debian's headless Chromium loads the page, runs its script and renders it. The
//! page marks itself rendered (`data-rendered`, the lanes drawn with both rows;
//! `data-agents`, their names) and records any script error (`data-script-error`), which
//! the tests read back from the DOM Chromium dumps.
//!
//! The browser tests need `chromium` (`apt-get install chromium`; `$CHROMIUM` names another
//! binary). Without it they are skipped with a message, unless `CI` is set: in CI they must
//! run, and fail.

use presence_sync_tests::runtime_api::binary_path;
use presence_sync_tests::shift_picture::{self, Lane, Origin, Shift, Step, render};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The browser, or `None` (with the reason printed) when the test may be skipped.
fn browser() -> Option<PathBuf> {
    match shift_picture::chromium() {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => panic!(
            "chromium is not installed and CI is set: the browser tests must run in CI \
             (apt-get install -y chromium)"
        ),
        None => {
            eprintln!(
                "SKIPPED: chromium is not installed (apt-get install -y chromium); this browser \
                 test runs wherever it is, and always in CI"
            );
            None
        }
    }
}

fn step(at_min: i64, label: &str, outcome: &str, reason: &str, teams: &str) -> Step {
    let changes = !label.contains('(');
    Step {
        origin: Origin::Event,
        at_ms: at_min * 60_000,
        label: label.to_owned(),
        genesys: changes.then(|| label.to_owned()),
        outcome: outcome.to_owned(),
        reason: reason.to_owned(),
        teams: teams.to_owned(),
        lag: matches!(outcome, "applied" | "cleared").then(|| Duration::from_millis(27)),
    }
}

/// A small shift with every kind of mark, and a name that needs escaping.
fn sample() -> Shift {
    Shift {
        title: "A sample shift".into(),
        start_clock_minutes: 8 * 60,
        lanes: vec![
            Lane {
                name: "Ana".into(),
                has_teams_user: true,
                steps: vec![
                    step(0, "On Queue", "applied", "changed", "Busy/Busy"),
                    step(10, "Meal", "applied", "changed", "Away/Away"),
                    step(8, "On Queue (late)", "skipped", "stale", "Away/Away"),
                    step(30, "Offline", "cleared", "changed", "(cleared)"),
                    // Teams set by hand, then repaired by the reconciler.
                    Step {
                        origin: Origin::Outside,
                        genesys: None,
                        lag: None,
                        ..step(
                            40,
                            "Available by hand in Teams",
                            "by-hand",
                            "drift",
                            "Available/Available",
                        )
                    },
                    Step {
                        origin: Origin::Reconciler,
                        genesys: None,
                        ..step(
                            45,
                            "the reconciler",
                            "applied",
                            "drift repaired",
                            "Busy/Busy",
                        )
                    },
                ],
            },
            Lane {
                name: "Zoë <O'Brien & \"Co\">".into(),
                has_teams_user: true,
                steps: vec![
                    step(2, "Available", "failed", "GraphUnavailable", "(cleared)"),
                    step(
                        2,
                        "Available (retry)",
                        "applied",
                        "reconciled",
                        "Available/Available",
                    ),
                ],
            },
            Lane {
                name: "Fay".into(),
                has_teams_user: false,
                steps: vec![step(
                    5,
                    "Break",
                    "skipped",
                    "no-teams-user",
                    "(no Teams user)",
                )],
            },
        ],
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An attribute of the `<body>` (or `<html>`) element in a dumped DOM.
fn attribute(dom: &str, element: &str, name: &str) -> Option<String> {
    let start = dom.find(&format!("<{element}"))?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let value = &tag[at..];
    Some(unescape(&value[..value.find('"')?]))
}

fn write_page(dir: &Path, html: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let page = dir.join("shift.html");
    std::fs::write(&page, html).unwrap();
    page
}

fn temp_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{name}-{}", uuid::Uuid::new_v4()))
}

/// Loads the page in Chromium and checks it rendered `agents`, in order, without a script
/// error; then takes a 1400 × 900 screenshot into `png`.
fn check_in_browser(page: &Path, agents: &[&str], png: &Path) {
    let dom = shift_picture::dump_dom(page).unwrap_or_else(|e| panic!("chromium: {e}"));
    assert_eq!(
        attribute(&dom, "html", "data-script-error"),
        None,
        "the page's script failed"
    );
    assert_eq!(
        attribute(&dom, "body", "data-rendered").as_deref(),
        Some(agents.len().to_string().as_str()),
        "not every lane was drawn with both rows"
    );
    let shown = attribute(&dom, "body", "data-agents").expect("the page lists its lanes");
    assert_eq!(shown.split('|').collect::<Vec<_>>(), agents);

    shift_picture::screenshot(page, png).unwrap_or_else(|e| panic!("chromium: {e}"));
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1400, 900));
    // A blank page compresses to a few kilobytes; the drawn lanes do not.
    assert!(bytes.len() > 20_000, "{} bytes: a blank page?", bytes.len());
}

#[test]
fn the_page_is_self_contained_and_shows_every_agent_and_mark() {
    let shift = sample();
    let html = render(&shift);
    // Nothing to load: no URL, no external reference, and a policy that forbids any.
    for forbidden in ["http:", "https:", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(forbidden), "the page contains {forbidden}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
    // Every agent, escaped; every reason; the lag.
    for name in ["Ana", "Zoë &lt;O&#39;Brien &amp; &quot;Co&quot;&gt;", "Fay"] {
        assert!(html.contains(&format!("data-agent=\"{name}\"")), "{name}");
    }
    assert!(!html.contains("<O'Brien"), "a name is not escaped");
    for text in [
        "GraphUnavailable · Available",
        "stale · On Queue late",
        "no-teams-user · Break",
        "27 ms (retry)",
        "no Teams user: left alone",
        "cleared: own Teams status",
        "Available by hand in Teams",
        "reconciler: drift repaired",
        "Simulated clock",
        "outside the function: 1, repaired by the reconciler: 1",
    ] {
        assert!(html.contains(text), "the page does not show {text:?}");
    }
    // Genesys rows are drawn per presence change; Teams rows per change in Teams. Ana's On
    // Queue in Genesys; in Teams the Busy the function set and the Busy the reconciler set
    // back after her change by hand; Fay's row without Teams.
    assert_eq!(html.matches("class=\"seg genesys busy\"").count(), 1);
    assert_eq!(html.matches("class=\"seg teams busy\"").count(), 2);
    assert_eq!(
        html.matches("class=\"seg teams none\"").count(),
        1,
        "Fay's row"
    );
    assert_eq!(html.matches("mark mark-failed").count(), 1);
    assert_eq!(html.matches("mark mark-skipped").count(), 2);
    assert_eq!(html.matches("mark mark-set").count(), 5);
    assert_eq!(html.matches("mark mark-outside").count(), 1);
    assert_eq!(
        html.matches("class=\"seg teams available hand\"").count(),
        1
    );
}

#[test]
fn the_page_renders_every_agent_in_headless_chromium() {
    if browser().is_none() {
        return;
    }
    let dir = temp_dir("shift-sample");
    let page = write_page(&dir, &render(&sample()));
    check_in_browser(
        &page,
        &["Ana", "Zoë <O'Brien & \"Co\">", "Fay"],
        &dir.join("shift.png"),
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The error marker is not blind: a page whose script fails is seen failing.
#[test]
fn a_script_error_on_the_page_is_seen() {
    if browser().is_none() {
        return;
    }
    let html = render(&sample()).replace(
        "var detail = document.getElementById(\"detail\");",
        "var detail = document.getElementById(\"detail\"); notAFunction();",
    );
    let dir = temp_dir("shift-broken");
    let page = write_page(&dir, &html);
    let dom = shift_picture::dump_dom(&page).unwrap();
    let error = attribute(&dom, "html", "data-script-error");
    assert!(
        error.as_deref().is_some_and(|e| e.contains("notAFunction")),
        "{error:?}"
    );
    assert_eq!(attribute(&dom, "body", "data-rendered"), None);
    let _ = std::fs::remove_dir_all(dir);
}

/// `make demo` end to end: the demo binary replays its shift against moto, the fakes and the
/// built function, and writes the page; Chromium renders every agent of it.
#[test]
fn the_demo_draws_its_shift_for_the_browser() {
    if browser().is_none() {
        return;
    }
    let dir = temp_dir("shift-demo");
    let output = std::process::Command::new(binary_path("demo"))
        .env("DEMO_OUT", &dir)
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = dir.join("shift.html");
    assert!(stdout.contains(&page.display().to_string()), "{stdout}");
    // The terminal tells what the picture draws: the reconciler's run, the reverse direction.
    for text in [
        "presence-reconcile, one run: 6 users scanned, 1 lost event recovered, 1 user drifted and repaired",
        "presence-watch, one run: 1 taken off → Genesys Meeting (\"In a Teams meeting\")",
        "its Genesys event reaches presence-sync: skipped/echo",
        "presence-watch, one run: 1 restored → Genesys On Queue",
        "Graph writes for Gus: 0",
    ] {
        assert!(
            stdout.contains(text),
            "the demo does not say {text:?}: {stdout}"
        );
    }
    let html = std::fs::read_to_string(&page).unwrap();
    // What the shift is about: a failure and its retry, a stale and a duplicate delivery,
    // the agent without a Teams user.
    for text in [
        "GraphUnavailable · On Queue",
        "(retry)",
        "stale · Meal late, older",
        "duplicate · Break delivered again",
        "no-teams-user",
        "cleared: own Teams status",
        "Break (event lost)",
        "Available by hand in Teams",
        "reconciler: lost event recovered",
        "reconciler: drift repaired",
        "watcher: take-off",
        "watcher: restore",
        "watcher: take-off (its event: echo)",
        "Teams: Busy/InAMeeting from",
        "the agent&#39;s own (joins a Teams meeting)",
        "set in Genesys by the watcher: 2",
        "Simulated clock",
    ] {
        assert!(
            html.contains(text),
            "the demo's page does not show {text:?}"
        );
    }
    for forbidden in ["http:", "https:", "src=", "href="] {
        assert!(!html.contains(forbidden), "the page contains {forbidden}");
    }
    check_in_browser(
        &page,
        &["Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus"],
        &dir.join("shift.png"),
    );
    let _ = std::fs::remove_dir_all(dir);
}
