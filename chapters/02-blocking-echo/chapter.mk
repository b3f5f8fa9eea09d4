# Chapter 2: blocking I/O. The Channel reads into chapter 1's Buffer.
MODULES  := channel
PROGRAMS :=
UNITS    :=
USES     := 01-buffer
THREADED := yes
