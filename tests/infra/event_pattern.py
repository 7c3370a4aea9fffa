"""Match events against an EventBridge event pattern with moto's implementation.

    python tests/infra/event_pattern.py < {"pattern": {...}, "events": [{...}, ...]}

prints a JSON list with one boolean per event: whether the pattern matches it.

The oracle for tests/tests/suite/template.rs, so that the rule's pattern is not judged only by
a matcher written next to the test. moto 5.2.5 does not implement the TestEventPattern API
(its backend raises NotImplementedError), and delivering through PutRule/PutTargets/PutEvents
needs moto's `events` extra (jsonpath-ng, for input transformers), which the project's venv
does not install. `EventPattern` below is the matcher moto's PutEvents runs for every rule;
`EventPattern.load` also validates the pattern as moto's PutRule does.
"""

import json
import sys

from moto.events.models import EventPattern


def main() -> None:
    request = json.load(sys.stdin)
    pattern = EventPattern.load(json.dumps(request["pattern"]))
    json.dump([pattern.matches_event(event) for event in request["events"]], sys.stdout)


if __name__ == "__main__":
    main()
