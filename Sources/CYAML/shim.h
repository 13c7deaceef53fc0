#ifndef CERTS_CYAML_SHIM_H
#define CERTS_CYAML_SHIM_H
#include <yaml.h>

/* Union and nested-struct accessors for yaml_node_t, which Swift imports awkwardly. */
static inline const char *certs_yaml_scalar_value(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static inline size_t certs_yaml_scalar_length(const yaml_node_t *n) { return n->data.scalar.length; }
static inline int certs_yaml_scalar_plain(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }
static inline int certs_yaml_sequence_count(const yaml_node_t *n) { return (int)(n->data.sequence.items.top - n->data.sequence.items.start); }
static inline int certs_yaml_sequence_item(const yaml_node_t *n, int i) { return n->data.sequence.items.start[i]; }
static inline int certs_yaml_mapping_count(const yaml_node_t *n) { return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start); }
static inline int certs_yaml_mapping_key(const yaml_node_t *n, int i) { return n->data.mapping.pairs.start[i].key; }
static inline int certs_yaml_mapping_value(const yaml_node_t *n, int i) { return n->data.mapping.pairs.start[i].value; }
#endif
