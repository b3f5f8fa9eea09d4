# Chapter 2: blocking I/O. The Channel reads into chapter 1's Buffer; an
# echo server (iterative, or a thread per connection) and its client.
MODULES  := channel
PROGRAMS := echo-server echo-client
UNITS    := test_channel
USES     := 01-buffer
THREADED := yes
# The lab's checks (tests/lab/): the Channel's stages, and the client that
# drives the learner's servers in the shell stages of chapters 2 and 3.
LAB_CHECKS := lab_channel lab_peer
