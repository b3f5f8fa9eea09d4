# Chapter 6: two selectors. The event loop (a thread, a selector, a task
# queue and timers) and its group; the boss/worker server on chapter 4's
# protocol; one load generator for the chapter ladder. Part 2: Netty's
# pipeline, its codecs and bootstraps, the article's Netty pair, and
# chapter 4's protocol served by a pipeline.
MODULES  := timer_heap event_loop histogram channel_pipeline codecs bootstrap
PROGRAMS := boss-worker-server ladder-load pipeline-server netty-server \
            netty-client
UNITS    := test_timer_heap test_event_loop test_event_loop_register \
            test_histogram test_pipeline
USES     := 04-web-server-client 03-selector 02-blocking-echo 01-buffer
THREADED := yes
LAB_CHECKS := lab_event_loop lab_pipeline
