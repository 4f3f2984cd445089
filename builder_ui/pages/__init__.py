"""One router per end-user area; each is thin: parse, call one engine service, render."""
