/* placeholder to be replaced */
#include "buffer.h"
int main(void) { buffer *b = buffer_allocate(8); buffer_free(b); return 0; }
