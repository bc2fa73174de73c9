/* scaffold: filled in this session */
typedef int gs_html_scaffold_t;
