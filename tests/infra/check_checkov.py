"""Judge checkov's JSON report on the translated template.

    python tests/infra/check_checkov.py REPORT.json TRANSLATED.json

Passes when checkov found no failed check and every suppression written in the template
(`Metadata: checkov: skip: [{id, comment}]`) is a real one: checkov ran that check on
that resource and skipped it, and the comment gives a reason. A suppression for a check
that no longer fires is stale and fails too, so the list in the template stays the list
of findings deliberately accepted.
"""

import json
import sys


def main(report_path: str, translated_path: str) -> int:
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    with open(translated_path, encoding="utf-8") as f:
        translated = json.load(f)
    reports = report if isinstance(report, list) else [report]
    failed, skipped = [], set()
    summary = {}
    for r in reports:
        results = r.get("results", {})
        failed.extend(results.get("failed_checks", []))
        for check in results.get("skipped_checks", []):
            skipped.add((check["check_id"], check["resource"].split(".")[-1]))
        summary = r.get("summary", summary)
    if not reports or not summary.get("resource_count"):
        print("check_checkov: checkov scanned no resource", file=sys.stderr)
        return 1

    problems = []
    for check in failed:
        problems.append(f"{check['check_id']} {check['check_name']}: FAILED for {check['resource']}")
    # The SAM translator copies a function's Metadata onto resources it generates for it
    # (e.g. the EventInvokeConfig): a suppression is live when checkov skipped that check
    # on at least one of the resources carrying it.
    carriers: dict[tuple[str, str], list[str]] = {}
    for name, resource in translated.get("Resources", {}).items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            comment = " ".join(str(skip.get("comment", "")).split())
            if len(comment) < 40:
                problems.append(f"{name}: suppression {skip.get('id')} needs a written reason")
            carriers.setdefault((skip.get("id"), comment), []).append(name)
    for (check_id, _), names in sorted(carriers.items()):
        if not any((check_id, name) in skipped for name in names):
            problems.append(
                f"{', '.join(names)}: suppression {check_id} is stale (checkov did not run that check there)"
            )
    for line in problems:
        print(f"check_checkov: {line}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"check_checkov: ok ({summary.get('passed')} passed, 0 failed, "
        f"{summary.get('skipped')} suppressed in template.yaml with a reason)"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} REPORT.json TRANSLATED.json")
    sys.exit(main(sys.argv[1], sys.argv[2]))
