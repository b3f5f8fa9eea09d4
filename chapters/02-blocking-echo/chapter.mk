# Chapter 2: blocking I/O. The Channel reads into chapter 1's Buffer; an
# echo server (iterative, or a thread per connection) and its client.
MODULES  := channel
PROGRAMS := echo-server echo-client
UNITS    := test_channel
USES     := 01-buffer
THREADED := yes
