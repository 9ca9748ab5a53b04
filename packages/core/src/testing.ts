// @tubelet/core/testing — the backend conformance suite (being written; this placeholder keeps the build green)
export {};
