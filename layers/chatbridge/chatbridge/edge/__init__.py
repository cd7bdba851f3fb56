"""The HTTP edge every API function shares: what a request must be before any route runs, and how
every failure becomes an RFC 9457 problem.

- `app`: the Powertools resolver and the Lambda entry point around it (authentication, size limit).
- `event`: the API Gateway event, checked and normalised before anything reads it.
- `body`: body decoding and strict JSON (depth, number, duplicate-name and text limits; media type).
- `problems`: exception -> problem response, in one place.
- `openapi`: the OpenAPI descriptions of problem responses and shared parameters.
- `paths`: the routes that skip the API key (the authorizer), declared once.
"""
