"""Checks on the CloudFormation that the SAM template translates to (translate_template.py).

    python tests/infra/check_translated.py translated.json

What checkov does not see, or sees only in part, checked on the translated template as
CloudFormation will deploy it:

- no wildcard anywhere in a policy: no "*" in an Action or Resource, no NotAction or
  NotResource, no "*" principal, no managed policies on a role;
- the function: provided.al2023, arm64, handler bootstrap, reserved concurrency, JSON
  logs into a log group with a retention;
- asynchronous invocation: 2 retries, a maximum event age of at most 15 minutes, and an
  on-failure destination that is an SQS queue of the stack the role may send to;
- the EventBridge rule: a retry policy and a dead-letter queue that the queue policy lets
  exactly this rule write to;
- encryption at rest: every queue, the table;
- alarms on the function's errors and throttles and on both queues' depth, published to
  the stack's SNS topic;
- a dashboard, and saved Logs Insights queries on the stack's own log group.

Exits 1 with one line per problem.
"""

import json
import sys

problems: list[str] = []


def problem(text: str) -> None:
    problems.append(text)


def as_list(value):
    return value if isinstance(value, list) else [value]


def ref(value) -> str | None:
    """The logical id a {"Ref": id} or {"Fn::GetAtt": [id, ...]} points to."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else str(target).split(".")[0]
    return None


def of_type(resources: dict, kind: str) -> dict:
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


def has_wildcard(value) -> bool:
    return isinstance(value, str) and "*" in value


def check_statements(where: str, document) -> None:
    if not isinstance(document, dict):
        problem(f"{where}: the policy document is not a literal object")
        return
    for index, statement in enumerate(as_list(document.get("Statement", []))):
        at = f"{where} statement {statement.get('Sid', index)}"
        for forbidden in ("NotAction", "NotResource", "NotPrincipal"):
            if forbidden in statement:
                problem(f"{at}: uses {forbidden}")
        for action in as_list(statement.get("Action", [])):
            if has_wildcard(action):
                problem(f"{at}: wildcard action {action}")
        for resource in as_list(statement.get("Resource", [])):
            if has_wildcard(resource):
                problem(f"{at}: wildcard resource {resource}")
        principal = statement.get("Principal")
        # A wildcard principal grants to anyone in an Allow; in a Deny it narrows who may
        # act (a queue policy denying everyone but one role), which is what it is for.
        if statement.get("Effect") == "Deny":
            continue
        if principal == "*" or (
            isinstance(principal, dict) and any(has_wildcard(p) for v in principal.values() for p in as_list(v))
        ):
            problem(f"{at}: wildcard principal {principal}")


def role_statements(role: dict) -> list[dict]:
    statements = []
    for policy in role.get("Properties", {}).get("Policies", []):
        statements.extend(as_list(policy.get("PolicyDocument", {}).get("Statement", [])))
    return statements


def granted(role: dict, action: str, target: str) -> bool:
    """Whether the role's inline policies allow `action` on resource `target` (logical id)."""
    for statement in role_statements(role):
        if statement.get("Effect") != "Allow" or action not in as_list(statement.get("Action", [])):
            continue
        if any(ref(r) == target for r in as_list(statement.get("Resource", []))):
            return True
    return False


def check_function(resources: dict, function_name: str, function: dict) -> None:
    """What every function of the stack must be: arm64 custom runtime, reserved concurrency, a
    role of this stack, JSON logs into a log group of this stack it may write to."""
    props = function.get("Properties", {})
    for key, expected in (("Runtime", "provided.al2023"), ("Handler", "bootstrap"), ("Architectures", ["arm64"])):
        if props.get(key) != expected:
            problem(f"{function_name}: {key} is {props.get(key)!r}, expected {expected!r}")
    if "ReservedConcurrentExecutions" not in props:
        problem(f"{function_name}: no reserved concurrency")
    if "DeadLetterConfig" in props:
        problem(f"{function_name}: a function DLQ besides the on-failure destination queues every failure twice")
    role_name = ref(props.get("Role"))
    role = resources.get(role_name or "", {})
    if role.get("Type") != "AWS::IAM::Role":
        problem(f"{function_name}: its role is not a role of this stack: {props.get('Role')}")
    logging = props.get("LoggingConfig", {})
    if logging.get("LogFormat") != "JSON":
        problem(f"{function_name}: LoggingConfig.LogFormat is not JSON")
    log_group = ref(logging.get("LogGroup"))
    if resources.get(log_group or "", {}).get("Type") != "AWS::Logs::LogGroup":
        problem(f"{function_name}: LoggingConfig.LogGroup is not a log group of this stack")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        if role and log_group and not granted(role, action, log_group):
            problem(f"{role_name}: does not grant {action} on {log_group}")


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        template = json.load(f)
    resources = template.get("Resources", {})

    # --- wildcards, everywhere a policy can hide ---------------------------------------
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        props = role.get("Properties", {})
        if props.get("ManagedPolicyArns"):
            problem(f"{name}: managed policies {props['ManagedPolicyArns']} (write the statements out)")
        check_statements(f"{name} trust policy", props.get("AssumeRolePolicyDocument"))
        for policy in props.get("Policies", []):
            check_statements(f"{name} policy {policy.get('PolicyName')}", policy.get("PolicyDocument"))
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        for name, resource in of_type(resources, kind).items():
            check_statements(name, resource.get("Properties", {}).get("PolicyDocument"))
    for name, permission in of_type(resources, "AWS::Lambda::Permission").items():
        props = permission.get("Properties", {})
        if "SourceArn" not in props and "SourceAccount" not in props:
            problem(f"{name}: a Lambda permission without SourceArn or SourceAccount")
        if has_wildcard(props.get("Principal")):
            problem(f"{name}: wildcard principal")

    # --- the functions ----------------------------------------------------------------
    functions = of_type(resources, "AWS::Lambda::Function")
    # The translation keeps conditional resources (with their Condition): the watcher, off by
    # default (TeamsToGenesys), is checked like the others.
    expected_functions = ["PresenceReconcileFunction", "PresenceSyncFunction", "PresenceWatchFunction"]
    if sorted(functions) != expected_functions:
        problem(f"expected the Lambda functions {expected_functions}, found {sorted(functions)}")
        return report()
    for function_name, function in functions.items():
        check_function(resources, function_name, function)
    for name, group in of_type(resources, "AWS::Logs::LogGroup").items():
        if "RetentionInDays" not in group.get("Properties", {}):
            problem(f"{name}: no retention")

    # --- the reconciler and the watcher: one run at a time, on a schedule ----------------
    for scheduled in ("PresenceReconcileFunction", "PresenceWatchFunction"):
        props = functions[scheduled]["Properties"]
        if props.get("ReservedConcurrentExecutions") != 1:
            problem(f"{scheduled}: ReservedConcurrentExecutions is not 1 (one run at a time)")
        schedules = [
            rule for rule in of_type(resources, "AWS::Events::Rule").values()
            if "ScheduleExpression" in rule.get("Properties", {})
            and any(ref(t.get("Arn")) == scheduled for t in rule["Properties"].get("Targets", []))
        ]
        if len(schedules) != 1:
            problem(f"{scheduled}: expected one schedule rule targeting it, found {len(schedules)}")

    function_name = "PresenceSyncFunction"
    props = functions[function_name]["Properties"]
    role_name = ref(props.get("Role"))
    role = resources.get(role_name or "", {})

    # --- asynchronous invocation --------------------------------------------------------
    invoke_configs = [
        r for r in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if ref(r.get("Properties", {}).get("FunctionName")) == function_name
    ]
    if len(invoke_configs) != 1:
        problem(f"{function_name}: expected one EventInvokeConfig, found {len(invoke_configs)}")
    else:
        config = invoke_configs[0]["Properties"]
        if config.get("MaximumRetryAttempts") != 2:
            problem(f"EventInvokeConfig: MaximumRetryAttempts is {config.get('MaximumRetryAttempts')}, expected 2")
        age = config.get("MaximumEventAgeInSeconds")
        if not isinstance(age, int) or not 60 <= age <= 900:
            problem(f"EventInvokeConfig: MaximumEventAgeInSeconds {age} is not within 60..900 (stale presence is worthless)")
        destination = ref(config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        if resources.get(destination or "", {}).get("Type") != "AWS::SQS::Queue":
            problem("EventInvokeConfig: no on-failure destination queue of this stack")
        elif role and not granted(role, "sqs:SendMessage", destination):
            problem(f"{role_name}: does not grant sqs:SendMessage on the failure destination {destination}")

    # --- the EventBridge rule -----------------------------------------------------------
    rules = {
        name: rule for name, rule in of_type(resources, "AWS::Events::Rule").items()
        if any(ref(t.get("Arn")) == function_name for t in rule.get("Properties", {}).get("Targets", []))
    }
    if len(rules) != 1:
        problem(f"expected one EventBridge rule targeting {function_name}, found {sorted(rules)}")
    for rule_name, rule in rules.items():
        bus = ref(rule["Properties"].get("EventBusName"))
        if resources.get(bus or "", {}).get("Type") != "AWS::Events::EventBus":
            problem(f"{rule_name}: not on the stack's partner event bus")
        for target in rule["Properties"].get("Targets", []):
            if "RetryPolicy" not in target:
                problem(f"{rule_name}: target without a retry policy")
            dlq = ref(target.get("DeadLetterConfig", {}).get("Arn"))
            if resources.get(dlq or "", {}).get("Type") != "AWS::SQS::Queue":
                problem(f"{rule_name}: target without a dead-letter queue of this stack")
                continue
            allowed = False
            for policy in of_type(resources, "AWS::SQS::QueuePolicy").values():
                pprops = policy.get("Properties", {})
                if dlq not in [ref(q) for q in pprops.get("Queues", [])]:
                    continue
                for statement in as_list(pprops.get("PolicyDocument", {}).get("Statement", [])):
                    condition = statement.get("Condition", {}).get("ArnEquals", {})
                    if (
                        statement.get("Principal") == {"Service": "events.amazonaws.com"}
                        and "sqs:SendMessage" in as_list(statement.get("Action"))
                        and ref(condition.get("aws:SourceArn")) == rule_name
                    ):
                        allowed = True
            if not allowed:
                problem(f"{dlq}: no queue policy lets exactly {rule_name} send to it")

    # --- encryption at rest -------------------------------------------------------------
    for name, queue in of_type(resources, "AWS::SQS::Queue").items():
        qprops = queue.get("Properties", {})
        if qprops.get("SqsManagedSseEnabled") is not True and "KmsMasterKeyId" not in qprops:
            problem(f"{name}: not encrypted at rest")
    for name, table in of_type(resources, "AWS::DynamoDB::Table").items():
        if table.get("Properties", {}).get("SSESpecification", {}).get("SSEEnabled") is not True:
            problem(f"{name}: SSESpecification.SSEEnabled is not true")

    # --- alarms ---------------------------------------------------------------------------
    topics = of_type(resources, "AWS::SNS::Topic")
    watched = set()
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        aprops = alarm.get("Properties", {})
        if not any(ref(a) in topics for a in aprops.get("AlarmActions", [])):
            problem(f"{name}: does not notify the stack's SNS topic")
        for dimension in aprops.get("Dimensions", []):
            # The function's own metrics name their namespace by a parameter ({"Ref": ...}).
            namespace = aprops.get("Namespace")
            namespace = namespace if isinstance(namespace, str) else json.dumps(namespace, sort_keys=True)
            watched.add((namespace, aprops.get("MetricName"), ref(dimension.get("Value"))))
    expected = {
        ("AWS/Lambda", "Errors", function_name),
        ("AWS/Lambda", "Throttles", function_name),
    }
    if invoke_configs:
        expected.add(("AWS/SQS", "ApproximateNumberOfMessagesVisible", destination))
    for rule in rules.values():
        for target in rule["Properties"].get("Targets", []):
            expected.add(("AWS/SQS", "ApproximateNumberOfMessagesVisible", ref(target.get("DeadLetterConfig", {}).get("Arn"))))
    expected.discard(("AWS/SQS", "ApproximateNumberOfMessagesVisible", None))
    for missing in sorted(expected - watched, key=str):
        problem(f"no alarm on {missing[0]} {missing[1]} of {missing[2]}")
    # --- dashboard and saved queries -----------------------------------------------------
    if not of_type(resources, "AWS::CloudWatch::Dashboard"):
        problem("no CloudWatch dashboard")
    log_groups = of_type(resources, "AWS::Logs::LogGroup")
    queries = of_type(resources, "AWS::Logs::QueryDefinition")
    if len(queries) < 3:
        problem(f"{len(queries)} saved Logs Insights queries, expected at least 3")
    for name, query in queries.items():
        groups = query.get("Properties", {}).get("LogGroupNames", [])
        if not groups or any(ref(g) not in log_groups for g in groups):
            problem(f"{name}: does not query a log group of the stack")
    subscriptions = of_type(resources, "AWS::SNS::Subscription")
    if not subscriptions or any("Condition" not in s for s in subscriptions.values()):
        problem("the e-mail subscription must exist and be conditional on an address being given")

    return report()


def report() -> int:
    for line in problems:
        print(f"check_translated: {line}", file=sys.stderr)
    if problems:
        return 1
    print("check_translated: ok (no wildcards; function, retries, failure destination, DLQ, encryption, alarms, dashboard, queries)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} TRANSLATED.json")
    sys.exit(main(sys.argv[1]))
