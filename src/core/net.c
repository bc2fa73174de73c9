/* scaffold: filled in this session */
typedef int gs_net_scaffold_t;
