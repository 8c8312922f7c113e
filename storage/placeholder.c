/* placeholder: replaced by the storage implementation */
typedef int store_placeholder_t;
