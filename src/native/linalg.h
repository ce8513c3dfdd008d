#pragma once

namespace gantry {
void accumulate_outer(long rows, long d, const float* x, const double* shift, double* sum, double* outer);
bool cholesky(long n, const double* a, double* l);
void congruence(long n, const double* l, const double* s, double* r);
// In place: a becomes the eigenvectors (columns) when `vectors`; values ascending.
bool symmetric_eigen(long n, double* a_inout, double* values, bool vectors);
}  // namespace gantry
