/*
 * The monitor's inline stylesheet (controld_style.c).
 */
#ifndef CONTROLD_STYLE_H
#define CONTROLD_STYLE_H

#include <stddef.h>

struct evbuffer;

#define MON_STYLE_MAX	4096	/* the sheet stays small: check_ctl_html */

/* <style>...</style> for a page's <head>. */
void	 mon_style_add(struct evbuffer *);
size_t	 mon_style_len(void);

#endif
