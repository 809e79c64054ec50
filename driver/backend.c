/* Backend registry and device open/close (driver/backend.h). */
#include <stdlib.h>
#include <string.h>

#include "driver/backend.h"

extern const struct npu_backend_ops npu_null_backend;
extern const struct npu_backend_ops npu_sim_backend;

/* Every backend this build has, found by name at run time. */
static const struct npu_backend_ops *const backend_table[] = {
        &npu_sim_backend,
        &npu_null_backend,
        NULL,
};

const struct npu_backend_ops *const *npu_backend_list(void)
{
	return backend_table;
}

const struct npu_backend_ops *npu_backend_find(const char *name, size_t len)
{
	for (const struct npu_backend_ops *const *b = backend_table; *b; b++)
		if (strlen((*b)->name) == len && memcmp((*b)->name, name, len) == 0)
			return *b;
	return NULL;
}

int npu_hw_open(const struct npu_backend_ops *ops, const char *args, struct npu_hw **out)
{
	struct npu_hw *hw;
	int rc;

	if (!ops || !out)
		return NPU_ERR_INVALID_ARG;
	hw = calloc(1, sizeof(*hw));
	if (!hw)
		return NPU_ERR_NO_MEM;
	hw->ops = ops;
	if (ops->priv_size) {
		hw->priv = calloc(1, ops->priv_size);
		if (!hw->priv) {
			rc = NPU_ERR_NO_MEM;
			goto err_free_hw;
		}
	}
	rc = ops->open(hw, args ? args : "");
	if (rc != NPU_OK)
		goto err_free_priv;
	*out = hw;
	return NPU_OK;

err_free_priv:
	free(hw->priv);
err_free_hw:
	free(hw);
	return rc;
}

void npu_hw_close(struct npu_hw *hw)
{
	if (!hw)
		return;
	hw->ops->close(hw);
	free(hw->priv);
	free(hw);
}
