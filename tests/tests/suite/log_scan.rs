//! No secret or token ever appears in a log line: after the whole suite has run,
//! `scripts/test.sh` runs this scan over every log line the function wrote during it
//! (in-process instances and spawned binaries alike, see `presence_sync_tests::logs`),
//! looking for every client secret, every issued token, and every Basic credential.

use aho_corasick::AhoCorasick;
use presence_sync_tests::logs;
use std::collections::BTreeSet;

#[test]
#[ignore = "scans the logs of the whole suite: scripts/test.sh runs it after every other test"]
fn no_secret_or_token_appears_in_any_log_line() {
    let dir = logs::dir();
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run the suite first)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    let mut needles = BTreeSet::new();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            if !line.is_empty() {
                needles.insert(line.to_owned());
            }
        }
    }
    assert!(
        needles.len() >= 50,
        "only {} secrets and tokens recorded",
        needles.len()
    );
    let short: Vec<_> = needles.iter().filter(|n| n.len() < 12).collect();
    assert!(
        short.is_empty(),
        "secrets too short to scan for without false alarms: {short:?}"
    );
    let needles: Vec<String> = needles.into_iter().collect();
    let matcher = AhoCorasick::new(&needles).unwrap();

    let (mut in_process, mut processes, mut leaks) = (0usize, 0usize, Vec::new());
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
    {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            if name.starts_with("in-process") {
                in_process += 1;
            } else {
                processes += 1;
            }
            if let Some(found) = matcher.find(line) {
                let secret = &needles[found.pattern().as_usize()];
                leaks.push(format!(
                    "{name}: …{}… contains a secret of {} characters",
                    &line[found.start().saturating_sub(40)..found.start()],
                    secret.len()
                ));
            }
        }
    }
    // The scan proves something only if the suite really logged.
    assert!(
        in_process >= 1_000,
        "only {in_process} in-process log lines"
    );
    assert!(
        processes >= 50,
        "only {processes} log lines from spawned binaries"
    );
    assert!(
        leaks.is_empty(),
        "{} log lines carry a secret or token:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    println!(
        "scanned {in_process} in-process and {processes} binary log lines for {} secrets and tokens: none found",
        needles.len()
    );
}
