# Chapter 4: the seed's WebServer and WebClient on chapter 3's Selector,
# with a session per connection (web_session), newline framing, partial
# writes and a bounded client. Chapters 5 and 6 reuse web_session.
MODULES  := web_session
PROGRAMS := web-server web-client
UNITS    := test_web_session web_session_probe
USES     := 03-selector 02-blocking-echo 01-buffer
LAB_CHECKS := lab_web_session
