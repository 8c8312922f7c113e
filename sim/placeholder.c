/* placeholder: replaced by the simulator implementation */
typedef int sim_placeholder_t;
