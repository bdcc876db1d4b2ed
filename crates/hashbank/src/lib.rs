//! Hash banks and the Hamming index (being written).
