# Chapter 5: the fixed thread pool, and the seed's thread-per-connection
# server on it: pool-server (the main thread accepts, each connection is a
# pool task with its own selector, chapter 4's protocol) and script-client
# (several connections driven step by step, for showing who waits).
MODULES  := thread_pool
PROGRAMS := pool-server script-client
UNITS    := test_thread_pool
USES     := 04-web-server-client 03-selector 02-blocking-echo 01-buffer
THREADED := yes
LAB_CHECKS := lab_thread_pool
