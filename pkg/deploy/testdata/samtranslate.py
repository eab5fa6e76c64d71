"""Translate a SAM template to CloudFormation with AWS's own SAM translator.

    python3 samtranslate.py TEMPLATE '{"NAME": {"Parameter": "value", ...}, ...}'

translates TEMPLATE once for each named set of parameter values and prints

    {"samtranslator": VERSION,
     "results": {"NAME": {"template": TRANSFORMED} or {"errors": [REASON, ...]}}}

as JSON on stdout: TRANSFORMED is what CloudFormation runs after the
AWS::Serverless-2016-10-31 transform, with those values; REASONs are SAM's
when it refuses the template. It exits 3 when samtranslator is not
installed, 2 on bad arguments. pkg/deploy's translate_test.go runs it; one
process for every set, as starting Python and SAM is most of the time.

It uses samtranslator's public entry points only: yaml_parse, transform,
and the exception transform raises for a template it refuses.
"""

import copy
import json
import os
import sys

# SAM builds ARNs for the partition of the Region it runs in; any Region of
# the aws partition gives the same template.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

try:
    import samtranslator
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:
    print(f"samtranslate: {e} (pip install aws-sam-translator)", file=sys.stderr)
    sys.exit(3)


class NoManagedPolicies:
    """The template names no AWS managed policy (pkg/deploy's checkPolicies
    refuses one), so SAM needs no map of their ARNs, which it would
    otherwise fetch from IAM with credentials."""

    def load(self):
        return {}


def packaged(template):
    """The template as `sam deploy` hands it to CloudFormation: each
    function's code uploaded, its CodeUri an S3 URI. SAM refuses a local
    path such as the template's "."."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://passreset-artifacts/passreset.zip"
    return template


def translate(template, parameters):
    try:
        return {"template": transform(packaged(template), parameters, NoManagedPolicies())}
    except InvalidDocumentException as e:
        return {"errors": [cause.message for cause in e.causes]}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    sets = json.loads(sys.argv[2])
    results = {name: translate(template, parameters) for name, parameters in sets.items()}
    json.dump({"samtranslator": samtranslator.__version__, "results": results}, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
