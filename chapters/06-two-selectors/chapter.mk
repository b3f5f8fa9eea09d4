# Chapter 6: two selectors. The event loop (a thread, a selector, a task
# queue and timers) and its group; the boss/worker server on chapter 4's
# protocol; one load generator for the chapter ladder.
MODULES  := timer_heap event_loop histogram
PROGRAMS := boss-worker-server ladder-load
UNITS    := test_timer_heap test_event_loop test_event_loop_register \
            test_histogram
USES     := 04-web-server-client 03-selector 02-blocking-echo 01-buffer
THREADED := yes
LAB_CHECKS := lab_event_loop
