# Chapter 7: the HTTP/1.1 server. The parser (and its chunked decoder)
# stands alone; the response, the route table and the server ride on the
# Buffer, the Channel, the Selector, chapter 6's boss/worker event loops and
# chapter 5's thread pool. http-probe sends exact bytes for the tests and
# the demo; http-parser-bench gives the parser's figures (bench.sh).
MODULES  := http_parser http_response http_router http_server
PROGRAMS := httpd http-probe http-parser-bench
UNITS    := test_http_parser test_http_response
USES     := 06-two-selectors 05-thread-pool 03-selector 02-blocking-echo \
            01-buffer
THREADED := yes
