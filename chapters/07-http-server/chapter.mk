# Chapter 7: the HTTP/1.1 server. The parser (and its chunked decoder)
# stands alone; the response, the route table and the server ride on the
# Buffer, the Channel, the Selector, chapter 6's boss/worker event loops and
# chapter 5's thread pool. Part 3 serves files: the path normaliser, the
# safe walk from the root with its conditionals and ranges, HTTP dates, and
# the servlet that strings them together. http-probe sends exact bytes for
# the tests and the demo; http-parser-bench gives the parser's figures
# (bench.sh).
MODULES  := http_parser http_date http_response http_router http_server \
            static_path static_file static_cache static_handler
PROGRAMS := httpd http-probe http-parser-bench
UNITS    := test_http_parser test_http_response test_static_path \
            test_static_file test_static_cache test_http_date
USES     := 06-two-selectors 05-thread-pool 03-selector 02-blocking-echo \
            01-buffer
THREADED := yes
LAB_CHECKS := lab_http
