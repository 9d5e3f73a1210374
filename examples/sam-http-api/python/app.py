import json
import os


def handler(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    greeting = os.environ.get("GREETING", "Hello")
    punctuation = os.environ.get("PUNCTUATION", "")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": f"{greeting}, {name}{punctuation}"}),
    }
