//! Models: architectures, typed hyper-parameters, the loader and graph builders.
