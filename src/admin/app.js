/* The admin page's script. */
