# Chapter 3: the Selector, on select, poll or epoll behind one interface;
# a one-thread echo server on it, a load client and a benchmark.
MODULES  := selector selector_select selector_poll selector_epoll fd_limit
PROGRAMS := selector-echo-server echo-swarm selector-bench
UNITS    := test_selector nio_diff
USES     := 02-blocking-echo 01-buffer
THREADED := yes
# The lab's unit stages; its shell stages use chapter 2's lab_peer.
LAB_CHECKS := lab_selector
lab-build-3: $(BUILD)/tests/lab_peer
