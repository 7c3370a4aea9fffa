"""Translate the SAM template to plain CloudFormation, offline.

    python tests/infra/translate_template.py template.yaml OUT.json

Uses the SAM translator library (`samtranslator`, the same code `sam build`/`sam deploy`
and CloudFormation's AWS::Serverless transform run). The translator asks IAM for the
AWS managed policies only when a function names one by policy name; this project's
function uses its own written-out role, so the loader below refuses to be asked: a
managed policy creeping into the template fails the check instead of needing AWS
credentials.
"""

import json
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """Managed-policy loader for offline translation: there must be nothing to look up."""

    def load(self):
        raise SystemExit(
            "template.yaml refers to an AWS managed policy by name; the function must use "
            "its own least-privilege role (PresenceSyncRole) instead"
        )


def main(source: str, target: str) -> int:
    # The translator asks boto3 for a region to fill AWS::Region and AWS::Partition; the
    # template uses the pseudo parameters themselves, so any commercial region translates
    # it the same. No AWS call is made.
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # `sam package`/`sam deploy` upload the built artifact and put its S3 location into
    # CodeUri before CloudFormation transforms the template; do the same with a stand-in.
    for name, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(
            properties.get("CodeUri", "")
        ).startswith("s3://"):
            properties["CodeUri"] = f"s3://presence-sync-artifacts/{name}.zip"
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{source}: {cause.message}", file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{source} -> {target}: {len(translated.get('Resources', {}))} resources")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} TEMPLATE OUT.json")
    sys.exit(main(sys.argv[1], sys.argv[2]))
