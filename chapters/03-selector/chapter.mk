# Chapter 3: the Selector, on select, poll or epoll behind one interface;
# a one-thread echo server on it, a load client and a benchmark.
MODULES  := selector selector_select selector_poll selector_epoll fd_limit
PROGRAMS := selector-echo-server echo-swarm selector-bench
UNITS    := test_selector nio_diff
USES     := 02-blocking-echo 01-buffer
THREADED := yes
