//! `ondisk map`: a logical address to every copy on the devices.
