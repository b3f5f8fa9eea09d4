# Chapter 3: the Selector, on select, poll or epoll behind one interface.
MODULES  := selector selector_select selector_poll selector_epoll
PROGRAMS :=
UNITS    :=
USES     := 02-blocking-echo 01-buffer
