# Chapter 1: the Buffer. No earlier chapter to stand on.
MODULES  := buffer
PROGRAMS := buffer-demo
UNITS    := test_buffer test_buffer_model
LAB_CHECKS := lab_buffer
