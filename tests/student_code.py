"""Source code as a student would write it, shared by the tests that run it somewhere else
(a fresh virtual environment, the sandbox, a kit built for a server)."""

CONV_MATRIX = '''
def conv_matrix(matrix, kernel):
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(matrix, ((p, p), (q, q)))
    out = np.zeros(matrix.shape)
    for a in range(kernel.shape[0]):
        for b in range(kernel.shape[1]):
            out += kernel[a, b] * padded[a:a + matrix.shape[0], b:b + matrix.shape[1]]
    return out
'''
