#include "tap.h"
#include "01-buffer/buffer.h"
int main(void){tap t={0,0}; buffer *b=buffer_allocate(1); TAP_OK(&t, b!=NULL, "alloc"); buffer_free(b); return tap_done(&t);}
